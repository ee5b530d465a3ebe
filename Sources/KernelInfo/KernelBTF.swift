import BPF
import Foundation

/// A kernel function or raw tracepoint signature from BTF.
public struct KernelFunction: Sendable, Hashable {
    public struct Parameter: Sendable, Hashable {
        /// Empty when BTF records no name (common for raw tracepoint args).
        public var name: String
        public var type: CType
    }

    public var name: String
    public var parameters: [Parameter]
    public var returnType: CType
    /// Whether the prototype ends in `...`.
    public var isVariadic: Bool
}

/// The running kernel's BTF with the name indexes the resolver needs.
///
/// libbpf's `btf__find_by_name_kind` scans every type; Ken asks thousands of questions per
/// program set, so the names are indexed once here (one pass over ~100k entries).
public final class KernelBTF: Sendable {
    public let btf: BTF
    private let structs: [String: BTFTypeID]
    private let unions: [String: BTFTypeID]
    private let typedefs: [String: BTFTypeID]
    private let enums: [String: BTFTypeID]
    private let functionIDs: [String: BTFTypeID]
    private let rawTracepointIDs: [String: BTFTypeID]
    /// Every ENUM/ENUM64 id (named or not): enumerators are decoded on first use.
    private let enumIDs: [BTFTypeID]
    private let lazyEnumerators = LockedLazy<[String: Int64]>()
    private let lazyFunctionNames = LockedLazy<[String]>()
    /// Suggestion indexes over record names, built on first "did you mean" (10k+ names).
    private let recordIndexes = SuggestionIndexCache<BTFKind>()

    /// Every function name, sorted (kfunc/fentry targets). Sorted on first use: most checks
    /// only ask whether one name exists.
    public var functionNames: [String] {
        lazyFunctionNames.get { functionIDs.keys.sorted() }
    }

    /// Every function name in no particular order (no sorting cost), for indexes.
    public var unorderedFunctionNames: Dictionary<String, BTFTypeID>.Keys { functionIDs.keys }
    /// Every raw tracepoint name (`btf_trace_<name>` typedefs, prefix removed), sorted.
    public let rawTracepointNames: [String]

    /// Prefix of the typedefs the kernel emits for each tracepoint's raw prototype.
    static let rawTracepointPrefix = "btf_trace_"

    public init(btf: BTF) {
        self.btf = btf
        var structs: [String: BTFTypeID] = [:]
        var unions: [String: BTFTypeID] = [:]
        var typedefs: [String: BTFTypeID] = [:]
        var enums: [String: BTFTypeID] = [:]
        var functions: [String: BTFTypeID] = [:]
        var rawTPs: [String: BTFTypeID] = [:]
        var enumIDs: [BTFTypeID] = []
        btf.forEachEntry(of: [.structure, .union, .typedef, .enumeration, .enum64, .function]) { id, kind, name in
            if kind == .enumeration || kind == .enum64 { enumIDs.append(id) }
            guard !name.isEmpty else { return }
            switch kind {
            // First definition wins, matching libbpf's lookup order.
            case .structure: if structs[name] == nil { structs[name] = id }
            case .union: if unions[name] == nil { unions[name] = id }
            case .typedef:
                if name.hasPrefix(Self.rawTracepointPrefix) {
                    rawTPs[String(name.dropFirst(Self.rawTracepointPrefix.count))] = id
                }
                if typedefs[name] == nil { typedefs[name] = id }
            case .enumeration, .enum64:
                if enums[name] == nil { enums[name] = id }
            case .function: if functions[name] == nil { functions[name] = id }
            default: break
            }
        }
        self.structs = structs
        self.unions = unions
        self.typedefs = typedefs
        self.enums = enums
        self.functionIDs = functions
        self.rawTracepointIDs = rawTPs
        self.enumIDs = enumIDs
        self.rawTracepointNames = rawTPs.keys.sorted()
    }

    /// Loads the running kernel's BTF and indexes it.
    public static func loadVmlinux() throws(KernelInfoError) -> KernelBTF {
        do {
            return KernelBTF(btf: try BTF.loadVmlinux())
        } catch {
            throw .btfUnavailable(error.description)
        }
    }

    // MARK: Names

    /// Struct (or union) names closest to `name`, nearest first, for "did you mean".
    public func suggestRecords(for name: String, union: Bool, limit: Int = 3) -> [String] {
        recordIndexes.index(for: union ? .union : .structure) {
            SuggestionIndex((union ? unions : structs).keys)
        }.suggestions(for: name, limit: limit)
    }

    /// Enum constant names closest to `name` (e.g. `TCP_ESTABLISED` → `TCP_ESTABLISHED`).
    public func suggestEnumerators(for name: String, limit: Int = 3) -> [String] {
        recordIndexes.index(for: .enumeration) {
            SuggestionIndex(enumeratorTable.keys)
        }.suggestions(for: name, limit: limit)
    }

    /// Every struct (or union) name, for suggestions.
    public func recordNames(union: Bool) -> [String] {
        (union ? unions : structs).keys.sorted()
    }

    public var typedefNames: [String] { typedefs.keys.sorted() }

    public func hasFunction(_ name: String) -> Bool { functionIDs[name] != nil }
    public func hasRawTracepoint(_ name: String) -> Bool { rawTracepointIDs[name] != nil }

    /// The value of an enumerator constant, e.g. `TCP_ESTABLISHED` → 1.
    public func enumerator(_ name: String) -> Int64? {
        enumeratorTable[name]
    }

    private var enumeratorTable: [String: Int64] {
        lazyEnumerators.get {
            var table: [String: Int64] = [:]
            for id in enumIDs {
                if case let .enumeration(e)? = btf.type(id) {
                    for v in e.values where table[v.name] == nil { table[v.name] = v.value }
                }
            }
            return table
        }
    }

    // MARK: Types

    /// The record named `name` (without keyword), or nil when BTF has no definition.
    public func record(named name: String, union: Bool) -> CRecordRef? {
        guard let id = (union ? unions : structs)[name] else { return nil }
        return CRecordRef(isUnion: union, name: name, btfID: id, size: btf.size(of: id))
    }

    /// Resolves a C type name as written in a cast or a format file: `struct sock`,
    /// `union bpf_attr`, `enum pid_type`, a typedef (`__be16`, `pid_t`) or a base type
    /// (`unsigned long`). Pointer stars and arrays are not part of `name`.
    public func type(named name: String) -> CType? {
        if name.hasPrefix("struct ") {
            return record(named: String(name.dropFirst(7)), union: false).map { .record($0) }
        }
        if name.hasPrefix("union ") {
            return record(named: String(name.dropFirst(6)), union: true).map { .record($0) }
        }
        if name.hasPrefix("enum ") {
            return enums[String(name.dropFirst(5))].map { cType($0) }
        }
        if let id = typedefs[name] { return cType(id) }
        return CBaseTypes.integer(named: name).map { .integer($0) }
    }

    /// Converts BTF entry `id` into the Ken C type model. Modifiers are dropped, typedef names
    /// kept, records referenced (not expanded).
    public func cType(_ id: BTFTypeID) -> CType {
        cType(id, depth: 0)
    }

    private func cType(_ id: BTFTypeID, depth: Int) -> CType {
        guard depth < 48 else { return .unknown("(too deep)") }
        guard let t = btf.type(id) else { return .unknown("(bad BTF id \(id))") }
        switch t {
        case .void:
            return .void
        case let .int(name, size, bits, _, encoding):
            return .integer(CInteger(name: name, bits: bits == 0 ? size * 8 : bits,
                                     signed: encoding.contains(.signed),
                                     isBool: encoding.contains(.bool)))
        case let .pointer(to):
            return .pointer(cType(to, depth: depth + 1))
        case let .array(element, _, count):
            return .array(cType(element, depth: depth + 1), count: count)
        case let .record(r):
            return .record(CRecordRef(isUnion: r.isUnion, name: r.name, btfID: id, size: r.size))
        case let .forward(name, isUnion):
            return .record(record(named: name, union: isUnion)
                           ?? CRecordRef(isUnion: isUnion, name: name))
        case let .enumeration(e):
            return .enumeration(name: e.name, bits: e.size * 8, signed: e.isSigned)
        case let .typedef(name, inner):
            return .typedef(name: name, cType(inner, depth: depth + 1))
        case let .volatile(inner), let .const(inner), let .restrict(inner), let .typeTag(_, inner):
            return cType(inner, depth: depth + 1)
        case let .functionProto(ret, params):
            return .function(returnType: cType(ret, depth: depth + 1),
                             params: params.filter { $0.type != 0 }.map { cType($0.type, depth: depth + 1) })
        case let .function(_, proto, _):
            return cType(proto, depth: depth + 1)
        case let .float(_, size):
            return .float(bits: size * 8)
        case let .variable(name, _, _), let .dataSection(name, _, _), let .declTag(name, _, _):
            return .unknown(name)
        }
    }

    // MARK: Records

    /// The members of a record, anonymous inner records flattened (offsets made absolute).
    /// Nil when the record has no BTF definition (unknown or forward-only).
    public func members(of record: CRecordRef) -> [CMember]? {
        let id: BTFTypeID
        if let known = record.btfID {
            id = known
        } else if let found = self.record(named: record.name, union: record.isUnion)?.btfID {
            id = found
        } else {
            return nil
        }
        var out: [CMember] = []
        guard appendMembers(of: id, baseBits: 0, into: &out, depth: 0) else { return nil }
        return out
    }

    /// One member by name (searching anonymous inner records too).
    public func member(named name: String, of record: CRecordRef) -> CMember? {
        members(of: record)?.first { $0.name == name }
    }

    private func appendMembers(of id: BTFTypeID, baseBits: Int, into out: inout [CMember], depth: Int) -> Bool {
        guard depth < 16, case let .record(r)? = btf.type(id) else { return false }
        for m in r.members {
            let bits = baseBits + Int(m.bitOffset)
            if m.name.isEmpty {
                // Anonymous struct/union: its members belong to the outer record.
                if let inner = btf.resolve(m.type) {
                    _ = appendMembers(of: inner, baseBits: bits, into: &out, depth: depth + 1)
                }
                continue
            }
            out.append(CMember(name: m.name, type: cType(m.type), offset: bits / 8, bitOffset: bits,
                               bitfieldSize: Int(m.bitfieldSize)))
        }
        return true
    }

    // MARK: Functions

    /// The signature of kernel function `name` (a BTF FUNC), or nil.
    public func function(named name: String) -> KernelFunction? {
        guard let id = functionIDs[name], case let .function(_, proto, _)? = btf.type(id),
              case let .functionProto(ret, params)? = btf.type(proto) else { return nil }
        return signature(name: name, returnType: ret, params: params, dropFirst: false)
    }

    /// The arguments of raw tracepoint `name` (from `btf_trace_<name>`, whose first
    /// parameter, the context pointer, is dropped), or nil.
    public func rawTracepoint(named name: String) -> KernelFunction? {
        guard let id = rawTracepointIDs[name], let target = btf.resolve(id),
              case let .pointer(to)? = btf.type(target),
              case let .functionProto(ret, params)? = btf.type(to) else { return nil }
        return signature(name: name, returnType: ret, params: params, dropFirst: true)
    }

    private func signature(name: String, returnType: BTFTypeID, params: [BTFParam], dropFirst: Bool) -> KernelFunction {
        var list = params
        var variadic = false
        if let last = list.last, last.type == 0, last.name.isEmpty {
            variadic = true
            list.removeLast()
        }
        if dropFirst, !list.isEmpty { list.removeFirst() }
        return KernelFunction(name: name,
                              parameters: list.map { .init(name: $0.name, type: cType($0.type)) },
                              returnType: cType(returnType), isVariadic: variadic)
    }
}

/// A value computed once on first use, safely from any thread.
final class LockedLazy<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?

    func get(_ make: () -> Value) -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let made = make()
        value = made
        return made
    }
}
