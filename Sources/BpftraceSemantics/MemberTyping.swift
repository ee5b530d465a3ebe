import BpftraceSyntax
import KernelInfo

/// Typing of `.`/`->` member access, indexing and the records behind them (BTF or the
/// program's own C definitions).
extension ResolutionPass {
    // MARK: Members

    /// The C record a value designates for `.`/`->` (through one pointer level).
    func record(of value: Typed) -> (CRecordRef, userMemory: Bool)? {
        var c = value.cType
        if c == nil {
            switch value.type {
            case let .record(name): c = kernelRecord(name)
            case let .pointer(.record(name)): c = kernelRecord(name).map { .pointer($0) }
            default: break
            }
        }
        guard var resolved = c?.resolved else { return nil }
        if case let .pointer(inner) = resolved { resolved = inner.resolved }
        guard case let .record(ref) = resolved else { return nil }
        return (ref, value.kernel?.isUserPointer ?? false)
    }

    /// The record named `spelling` (`struct sock`): the program's own definition shadows the
    /// kernel's, as in bpftrace (tools declare partial structs such as `struct cfs_rq`).
    private func kernelRecord(_ spelling: String) -> CType? {
        if preambleRecords.contains(spelling) { return recordRef(spelling).map { .record($0) } }
        return kernel.btf?.type(named: spelling) ?? recordRef(spelling).map { .record($0) }
    }

    private func recordRef(_ spelling: String) -> CRecordRef? {
        if spelling.hasPrefix("struct ") { return CRecordRef(isUnion: false, name: String(spelling.dropFirst(7))) }
        if spelling.hasPrefix("union ") { return CRecordRef(isUnion: true, name: String(spelling.dropFirst(6))) }
        return nil
    }

    func member(_ field: String, of base: Typed, access: Expression) -> Typed {
        if case let .tuple(elements) = base.type, let index = Int(field) {
            guard index >= 0, index < elements.count else {
                error("tuple has no element \(index)", at: fieldRange(access, field: field))
                return .unknown
            }
            return Typed(type: elements[index], kernel: nil)
        }
        guard let (ref, user) = record(of: base) else {
            switch base.type {
            case .unknown, .none: return .unknown
            default:
                error("cannot access field '\(field)' of a value of type \(base.type)", at: fieldRange(access, field: field))
                return .unknown
            }
        }
        guard let btf = kernel.btf else { return .unknown }
        if preambleRecords.contains(ref.spelling), ref.btfID == nil {
            // The program's own definition; opaque when its text was not understood.
            guard let members = preambleRecords.members(of: ref.spelling) ?? nil else { return .unknown }
            return member(field, in: ref, members: members, user: user, access: access)
        }
        guard let members = btf.members(of: ref) else {
            error("\(ref.spelling) has no definition in the kernel's BTF", at: access.range)
            return .unknown
        }
        return member(field, in: ref, members: members, user: user, access: access)
    }

    private func member(_ field: String, in ref: CRecordRef, members: [CMember], user: Bool, access: Expression) -> Typed {
        guard let m = members.first(where: { $0.name == field }) else {
            let close = SuggestionIndex(members.map(\.name)).suggestions(for: field, limit: 2)
            let hint = close.isEmpty ? nil : "did you mean " + close.map { "'\($0)'" }.joined(separator: " or ") + "?"
            error("\(ref.spelling) has no member '\(field)'", at: fieldRange(access, field: field), hint: hint)
            return .unknown
        }
        return Typed(type: TypeMapping.semantic(m.type), kernel: KernelValueInfo(
            cType: m.type, isUserPointer: user, origin: .member(record: ref.spelling, member: field)))
    }

    func element(of base: Typed) -> Typed {
        if let c = base.cType?.resolved {
            switch c {
            case let .array(element, _), let .pointer(element):
                return Typed(type: TypeMapping.semantic(element), kernel: base.kernel.map {
                    KernelValueInfo(cType: element, isUserPointer: $0.isUserPointer, origin: $0.origin)
                })
            default: break
            }
        }
        switch base.type {
        case let .array(of, _), let .pointer(of): return Typed(type: of, kernel: nil)
        case .string: return Typed(type: .integer(bits: 8, signed: true), kernel: nil)
        default: return .unknown
        }
    }
}
