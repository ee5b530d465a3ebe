import BpftraceSyntax
import NativeABI

/// The script's maps as BPF maps: key layout from the keys used (integers widened to 64 bits,
/// strings at their largest size), value from the first store (docs/semantics.md: a map holds
/// 64-bit integers with the first store's signedness, or strings), aggregations per CPU.
final class MapTable {
    final class Entry {
        let name: String
        var bpfName: String
        var keyKinds: [ValueKind]?
        /// The aggregation that writes the map, if any.
        var aggregate: NativeMapValue?
        /// The plain value's kind (from the first store).
        var valueKind: ValueKind?
        var lru = false
        var maxEntries: Int

        init(name: String, bpfName: String, maxEntries: Int) {
            self.name = name
            self.bpfName = bpfName
            self.maxEntries = maxEntries
        }

        var keyLayout: RecordLayout {
            let kinds = keyKinds ?? []
            // Keys are made only of kinds that have a layout (`noteKeys` refuses others).
            return RecordLayout(kinds.isEmpty ? [.u64] : kinds) ?? RecordLayout(fields: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))], kinds: [.u64], size: 8)
        }

        /// The value as the plan describes it.
        var planValue: NativeMapValue {
            if let aggregate { return aggregate }
            return .value((valueKind ?? .s64).nativeType ?? .integer(bits: 64, signed: true))
        }

        var valueSize: Int {
            switch planValue {
            case let .value(type): return max(8, (type.size + 7) / 8 * 8)
            case .count, .sum: return 8
            case .min, .max, .avg, .stats: return 16
            case .hist: return NativeMapValue.histBuckets * 8
            case let .linearHist(min, max, step): return NativeMapValue.linearHistBuckets(min: min, max: max, step: step) * 8
            }
        }

        var isPerCPU: Bool { aggregate != nil }
        var keySize: Int { keyLayout.size }
    }

    private(set) var entries: [Entry] = []
    private var byName: [String: Entry] = [:]
    let defaultMaxEntries: Int
    let declarations: [String: MapDeclaration]

    init(program: Program) {
        var limit = 4096
        for entry in program.config?.entries ?? [] where entry.key == "max_map_keys" {
            if case let .integer(literal) = entry.value.kind, let v = literal.value, v > 0, v <= 1 << 24 { limit = Int(v) }
        }
        defaultMaxEntries = limit
        declarations = Dictionary(program.mapDeclarations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func entry(_ name: String) -> Entry {
        if let e = byName[name] { return e }
        var bpf = "m_" + CLiteral.identifier(name, limit: 11)
        if entries.contains(where: { $0.bpfName == bpf }) { bpf = String(bpf.prefix(11)) + "_\(entries.count)" }
        var max = defaultMaxEntries
        var lru = false
        if let decl = declarations[name] {
            if let v = decl.maxEntries.value, v > 0, v <= 1 << 24 { max = Int(v) }
            lru = decl.mapType.contains("lru")
        }
        let e = Entry(name: name, bpfName: bpf, maxEntries: max)
        e.lru = lru
        entries.append(e)
        byName[name] = e
        return e
    }

    func existing(_ name: String) -> Entry? { byName[name] }

    /// Records the kinds of one use's keys (integers widen to 64 bits; strings take the
    /// largest size seen).
    func noteKeys(_ name: String, _ kinds: [ValueKind]) {
        let e = entry(name)
        let widened = kinds.map(Self.keyKind)
        guard let old = e.keyKinds, old.count == widened.count else {
            if e.keyKinds == nil { e.keyKinds = widened }
            return
        }
        e.keyKinds = zip(old, widened).map { a, b in
            if case let .string(x) = a, case let .string(y) = b { return .string(size: max(x, y)) }
            return a
        }
    }

    static func keyKind(_ kind: ValueKind) -> ValueKind {
        switch kind {
        case let .integer(_, signed): return .integer(bits: 64, signed: signed)
        case .boolean, .pointer: return .u64
        case let .tuple(kinds): return .tuple(kinds.map(keyKind))
        default: return kind
        }
    }

    /// Records a plain store of `kind` (the first store fixes integers' signedness).
    func noteStore(_ name: String, _ kind: ValueKind) {
        let e = entry(name)
        let stored = Self.storedKind(kind)
        guard let old = e.valueKind else { e.valueKind = stored; return }
        if case let .string(x) = old, case let .string(y) = stored { e.valueKind = .string(size: max(x, y)) }
    }

    static func storedKind(_ kind: ValueKind) -> ValueKind {
        switch kind {
        case let .integer(_, signed): return .integer(bits: 64, signed: signed)
        case .boolean, .pointer: return .u64
        default: return kind
        }
    }

    var plan: [NativeMap] {
        entries.map { e in
            NativeMap(name: e.name, bpfName: e.bpfName, keyFields: e.keyKinds == nil || e.keyKinds!.isEmpty ? [] : e.keyLayout.fields,
                      keySize: e.keySize, value: e.planValue, valueSize: e.valueSize, perCPU: e.isPerCPU,
                      lru: e.lru, maxEntries: e.maxEntries)
        }
    }

    /// The BTF-defined map declarations.
    func declare(into w: inout CWriter) {
        for e in entries {
            let type: String
            switch (e.isPerCPU, e.lru) {
            case (true, true): type = "BPF_MAP_TYPE_LRU_PERCPU_HASH"
            case (true, false): type = "BPF_MAP_TYPE_PERCPU_HASH"
            case (false, true): type = "BPF_MAP_TYPE_LRU_HASH"
            case (false, false): type = "BPF_MAP_TYPE_HASH"
            }
            w.line("/* @\(e.name): \(e.planValue) */")
            w.block("struct") { w in
                w.line("__uint(type, \(MapTypeNumbers.number(type))); /* \(type) */")
                w.line("__uint(max_entries, \(e.maxEntries));")
                w.line("__uint(key_size, \(e.keySize));")
                w.line("__uint(value_size, \(e.valueSize));")
                // Entries are allocated when inserted (6.1+ allows it in tracing programs), so
                // an extension costs kernel memory for the keys it has, not for 4096 of them.
                // LRU maps must be preallocated.
                if !e.lru { w.line("__uint(map_flags, 1); /* BPF_F_NO_PREALLOC */") }
            }
            w.replaceLast("} \(e.bpfName) SEC(\".maps\");")
            w.line()
        }
    }
}

/// `enum bpf_map_type` values (UAPI).
enum MapTypeNumbers {
    static func number(_ name: String) -> Int {
        switch name {
        case "BPF_MAP_TYPE_HASH": return 1
        case "BPF_MAP_TYPE_ARRAY": return 2
        case "BPF_MAP_TYPE_PERCPU_HASH": return 5
        case "BPF_MAP_TYPE_PERCPU_ARRAY": return 6
        case "BPF_MAP_TYPE_LRU_HASH": return 9
        case "BPF_MAP_TYPE_LRU_PERCPU_HASH": return 10
        case "BPF_MAP_TYPE_RINGBUF": return 27
        default: return 0
        }
    }
}

