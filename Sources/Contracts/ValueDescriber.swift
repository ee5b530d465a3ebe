import BPF
import KernelInfo

/// Ranges of every named enum in BTF, computed in one pass.
///
/// A plain enum's values are its enumerators: min...max. An enum whose enumerators are all
/// single bits (or zero) is a flag set, and variables of it hold OR-combinations, so its range is
/// 0...(OR of all bits) — still sound where min...max would not be.
struct EnumTable: Sendable {
    private var ranges: [String: ValueRange] = [:]

    init(btf: KernelBTF?) {
        guard let btf else { return }
        var ids: [BTFTypeID] = []
        btf.btf.forEachEntry { id, kind, name in
            if (kind == .enumeration || kind == .enum64), !name.isEmpty { ids.append(id) }
        }
        for id in ids {
            guard case let .enumeration(e)? = btf.btf.type(id), !e.values.isEmpty,
                  ranges[e.name] == nil else { continue }
            let values = e.values.map(\.value)
            let isFlags = values.count > 2 && values.allSatisfy { $0 >= 0 && ($0 & ($0 &- 1)) == 0 }
            if isFlags {
                ranges[e.name] = ValueRange(min: 0, max: values.reduce(0) { $0 | $1 })
            } else if let lo = values.min(), let hi = values.max() {
                // Unsigned 64-bit enumerators above Int64.max come back negative; give up on those.
                if !e.isSigned, lo < 0 { continue }
                ranges[e.name] = ValueRange(min: lo, max: hi)
            }
        }
    }

    func range(of name: String) -> ValueRange? { ranges[name] }
}

/// Turns a Ken `CType` into a `ValueContract`.
struct ValueDescriber: Sendable {
    let enums: EnumTable

    func describe(name: String, type: CType, addressSpace: AddressSpace = .kernel,
                  rationale: String? = nil, isDataLoc: Bool = false) -> ValueContract {
        let typedefs = ContractRules.typedefChain(type)
        var c = ValueContract(name: name, cType: type.description, typedefs: typedefs, kind: .unknown,
                              isDataLoc: isDataLoc, byteOrder: ContractRules.byteOrder(typedefs: typedefs),
                              rationale: rationale)
        switch type.resolved {
        case .void:
            c.kind = .void
        case let .integer(i):
            c.kind = i.isBool ? .boolean : .integer
            c.bits = i.bits
            c.signed = i.signed
            if i.isBool { c.range = ValueRange(min: 0, max: 1) }
        case let .float(bits):
            c.kind = .float
            c.bits = bits
        case let .enumeration(enumName, bits, signed):
            c.kind = .enumeration
            c.bits = bits
            c.signed = signed
            if !enumName.isEmpty {
                c.enumName = enumName
                c.range = enums.range(of: enumName)
            }
        case let .pointer(pointee):
            c.kind = .pointer
            c.bits = 64
            c.signed = false
            c.pointee = pointee.description
            c.addressSpace = addressSpace
            c.nullability = ContractRules.nullability(isDataLoc: false)
            if case let .record(r) = pointee.resolved, !r.name.isEmpty { c.record = r.spelling }
        case let .array(element, count):
            c.kind = element.isCharacter ? .string : .array
            c.arrayCount = count
            c.element = element.description
            if isDataLoc { c.nullability = ContractRules.nullability(isDataLoc: true) }
            if case let .record(r) = element.resolved, !r.name.isEmpty { c.record = r.spelling }
        case let .record(r):
            c.kind = .record
            if !r.name.isEmpty { c.record = r.spelling }
        case .function:
            c.kind = .function
        case .typedef, .unknown:
            c.kind = .unknown
        }
        return c
    }
}
