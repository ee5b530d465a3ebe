import BpftraceSyntax
import NativeABI

/// Map reads, stores, compound updates, aggregations and deletes. A missing key reads as 0 (or
/// the empty string); a store to a full map fails silently, as in bpftrace.
extension FunctionEmitter {
    /// C statements that fill a zeroed key buffer for `@name[keys]`; returns them and the buffer.
    func key(_ name: String, _ keys: [Expression]) throws(NativeCompileError) -> (code: String, buffer: String) {
        let values = try keys.map { (k) throws(NativeCompileError) in try emit(k) }
        let entry = object.maps.entry(name)
        for v in values where v.kind.nativeType == nil {
            throw .unsupported(.init("a map key of type \(v.kind)"))
        }
        if values.count == 1, case let .tuple(kinds) = values[0].kind {
            // `@m[(a, b)]` is `@m[a, b]`.
            object.maps.noteKeys(name, kinds)
        } else {
            object.maps.noteKeys(name, values.map(\.kind))
        }
        let layout = entry.keyLayout
        let buffer = frameBuffer(layout.size, name: fresh("k"))
        var parts = [cZero(buffer, layout.size)]
        if values.count == 1, case let .tuple(kinds) = values[0].kind, let source = RecordLayout(kinds),
           (entry.keyKinds?.count ?? 0) == kinds.count {
            for i in kinds.indices {
                let src = element(of: values[0], layout: source, index: i)
                parts.append(try store(src, into: elementLValue(buffer, kind: layout.kinds[i], offset: layout.fields[i].offset), as: layout.kinds[i]))
            }
        } else {
            guard values.isEmpty || values.count == layout.kinds.count else {
                throw .unresolved("map @\(name) is used with \(values.count) keys and with \(layout.kinds.count)")
            }
            for (i, v) in values.enumerated() {
                parts.append(try store(v, into: elementLValue(buffer, kind: layout.kinds[i], offset: layout.fields[i].offset), as: layout.kinds[i]))
            }
        }
        return (parts.joined(separator: " "), buffer)
    }

    func valueKind(of entry: MapTable.Entry) -> ValueKind { entry.valueKind ?? .s64 }

    func mapRead(_ name: String, keys: [Expression]) throws(NativeCompileError) -> CValue {
        let entry = object.maps.entry(name)
        if let aggregate = entry.aggregate {
            // count() and sum() read as this CPU's slot, as bpftrace reads them and as the
            // verifier models per-CPU maps; the other aggregations have no one value to read.
            guard aggregate == .count || aggregate == .sum else {
                throw .unsupported(.init("reading the aggregation @\(name) in the program"))
            }
            let (code, k) = try key(name, keys)
            let p = fresh("_p")
            return CValue(c: "({ \(code) __s64 *\(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k)); \(p) ? *\(p) : 0; })", kind: .s64)
        }
        let (code, k) = try key(name, keys)
        let kind = valueKind(of: entry)
        let p = fresh("_p")
        if let type = kind.cScalarType {
            return CValue(c: "({ \(code) \(type) *\(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k)); \(p) ? *\(p) : 0; })", kind: kind)
        }
        let t = frameBuffer(kind.byteSize)
        let size = kind.byteSize
        return CValue(c: "({ \(code) char *\(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k)); if (\(p)) { \(cCopy(t, p, size)) } else { \(cZero(t, size)) } \(t); })",
                      kind: kind)
    }

    /// `@name[keys] = value`.
    /// The statements of a block (without its braces).
    func mapAssign(_ name: String, keys: [Expression], value: Expression) throws(NativeCompileError) -> [String] {
        if case let .call(function, arguments) = value.kind, let aggregate = MapAggregateKind(rawValue: function) {
            return try aggregateUpdate(name, keys: keys, aggregate, arguments)
        }
        let v = try emit(value)
        let entry = object.maps.entry(name)
        guard entry.aggregate == nil else { throw .unsupported(.init("@\(name) holds both an aggregation and values")) }
        object.maps.noteStore(name, v.kind)
        let (code, k) = try key(name, keys)
        let kind = valueKind(of: entry)
        if let type = kind.cScalarType {
            let local = fresh("_s")
            return ["\(type) \(local);", try store(v, into: local, as: kind), code, "bpf_map_update_elem(&\(entry.bpfName), \(k), &\(local), 0);"]
        }
        let t = frameBuffer(entry.valueSize)
        return [try store(v, into: t, as: kind), code, "bpf_map_update_elem(&\(entry.bpfName), \(k), \(t), 0);"]
    }

    /// `@name[keys] OP= value`, `@name[keys]++`: read (0 when missing), apply, store.
    func mapUpdate(_ name: String, keys: [Expression], op: BinaryOperator, value: CValue, returnOld: Bool) throws(NativeCompileError) -> CValue {
        let entry = object.maps.entry(name)
        guard entry.aggregate == nil else { throw .unsupported(.init("updating the aggregation @\(name) in place")) }
        if entry.valueKind == nil { object.maps.noteStore(name, .s64) }
        let kind = valueKind(of: entry)
        guard let type = kind.cScalarType else { throw .unsupported(.init("\(op.rawValue) on @\(name) holding \(kind)")) }
        let (code, k) = try key(name, keys)
        let p = fresh("_p"), old = fresh("_o"), new = fresh("_n")
        let result = try apply(op, CValue(c: old, kind: kind), value)
        return CValue(c: "({ \(code) \(type) *\(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k)); \(type) \(old) = \(p) ? *\(p) : 0; \(type) \(new) = (\(type))\(result.c); bpf_map_update_elem(&\(entry.bpfName), \(k), &\(new), 0); \(returnOld ? old : new); })",
                      kind: kind)
    }

    /// `@name[keys] = count()` and the other aggregations, on this CPU's slot.
    func aggregateUpdate(_ name: String, keys: [Expression], _ aggregate: MapAggregateKind, _ arguments: [Expression]) throws(NativeCompileError) -> [String] {
        let entry = object.maps.entry(name)
        let planned: NativeMapValue
        var value: String?
        /// min/max compare as the argument's signedness does (docs/semantics.md).
        var signedArgument = true
        switch aggregate {
        case .count:
            planned = .count
        case .sum, .min, .max, .avg, .stats, .hist:
            guard let first = arguments.first else { throw .unresolved("\(aggregate.rawValue)() needs a value") }
            let v = try emit(first)
            value = "((__s64)\(try widened(v)))"
            signedArgument = isSigned(v.kind)
            switch aggregate {
            case .sum: planned = .sum
            case .min: planned = .min
            case .max: planned = .max
            case .avg: planned = .avg
            case .stats: planned = .stats
            default: planned = .hist
            }
        case .lhist:
            guard arguments.count == 4 else { throw .unresolved("lhist() takes a value, min, max and step") }
            var bounds: [Int64] = []
            for argument in arguments.dropFirst() {
                var negative = false
                var e = argument
                if case let .unary(.negate, inner) = e.kind { negative = true; e = inner }
                guard case let .integer(literal) = e.kind, let raw = literal.value, raw <= UInt64(Int64.max) else {
                    throw .unsupported(.init("lhist() with non-constant bounds"))
                }
                bounds.append(negative ? -Int64(raw) : Int64(raw))
            }
            let (span, overflow) = bounds[1].subtractingReportingOverflow(bounds[0])
            guard bounds[2] > 0, bounds[1] > bounds[0], !overflow, span / bounds[2] <= 1000 else {
                throw .unresolved("lhist() needs min < max, a positive step and at most 1000 buckets")
            }
            planned = .linearHist(min: bounds[0], max: bounds[1], step: bounds[2])
            value = "((__s64)\(try widened(emit(arguments[0]))))"
        case .tseries:
            throw .unsupported(.init("tseries()"))
        }
        if let existing = entry.aggregate, existing != planned {
            throw .unsupported(.init("@\(name) written by two different aggregations"))
        }
        guard entry.valueKind == nil else { throw .unsupported(.init("@\(name) holds both an aggregation and values")) }
        entry.aggregate = planned
        let (code, k) = try key(name, keys)
        let p = fresh("_a"), v = fresh("_x")
        let size = entry.valueSize
        let initial = frameBuffer(size)
        var w: [String] = [code]
        if let value { w.append("__s64 \(v) = \(value);") }
        w.append("__s64 *\(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k));")
        w.append("if (!\(p)) { \(cZero(initial, size)) bpf_map_update_elem(&\(entry.bpfName), \(k), \(initial), 1 /* BPF_NOEXIST */); \(p) = bpf_map_lookup_elem(&\(entry.bpfName), \(k)); }")
        let update: String
        switch planned {
        // Additions wrap (unsigned arithmetic): signed overflow would be undefined in C.
        case .count: update = "\(p)[0] = (__s64)((__u64)\(p)[0] + 1);"
        case .sum: update = "\(p)[0] = (__s64)((__u64)\(p)[0] + (__u64)\(v));"
        case .min, .max:
            let cast = signedArgument ? "" : "(__u64)"
            let op = planned == .min ? "<" : ">"
            update = "if (!\(p)[1] || \(cast)\(v) \(op) \(cast)\(p)[0]) { \(p)[0] = \(v); \(p)[1] = 1; }"
        case .avg, .stats: update = "\(p)[0] = (__s64)((__u64)\(p)[0] + (__u64)\(v)); \(p)[1] += 1;"
        case .hist:
            let b = fresh("_b")
            update = "__u32 \(b) = ken_hist_bucket(\(v)); ken_opaque(\(b)); if (\(b) < \(NativeMapValue.histBuckets)) \(p)[\(b)] += 1;"
        case let .linearHist(min, max, step):
            let n = NativeMapValue.linearHistBuckets(min: min, max: max, step: step)
            let b = fresh("_b")
            update = "__u32 \(b) = ken_lhist_bucket(\(v), \(min)LL, \(max)LL, \(step)LL, \(n)); ken_opaque(\(b)); if (\(b) < \(n)) \(p)[\(b)] += 1;"
        case .value:
            update = ""
        }
        w.append("if (\(p)) { \(update) }")
        return w
    }

    func delete(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard let first = arguments.first, case let .map(name, keys) = first.kind else {
            throw .unresolved("delete() takes a map element")
        }
        let allKeys = keys + arguments.dropFirst()
        let entry = object.maps.entry(name)
        let (code, k) = try key(name, allKeys)
        return CValue(c: "({ \(code) (void)bpf_map_delete_elem(&\(entry.bpfName), \(k)); })", kind: .none)
    }
}
