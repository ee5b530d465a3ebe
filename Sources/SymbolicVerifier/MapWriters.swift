import BpftraceSyntax

/// Every statement in the program that can store into a map, and the facts about each map the
/// memory model needs (docs/semantics.md, "Maps"): which stores another run can make between
/// two accesses of one run, and whether an insert can fail because the map is full.
///
/// bpftrace runs every probe on every CPU at once, so a map is shared state written
/// concurrently by all of its writers — including the probe that reads it, on another CPU.
struct MapWriters {
    /// One place that stores into a map.
    struct Site {
        enum Stored {
            /// A constant expression (literals, named constants, operators over them).
            case constant(Expression)
            /// delete/clear/zero: the entry reads as zero afterwards.
            case zero
            /// Anything (a computed value, `++`, an aggregation).
            case any
        }

        var map: String
        var probeIndex: Int
        var probeName: String
        var probeKinds: [ProbeKind]
        var location: SourceLocation
        /// The key expressions; nil for `clear`/`zero`, which reach every key.
        var keys: [Expression]?
        var stored: Stored
        /// `@m[k] = count()` and friends: on a per-CPU map they touch only this CPU's slot.
        var isAggregate: Bool
        /// Whether the store can add a key (an assignment or aggregation, not a delete).
        var inserts: Bool
    }

    /// bpftrace 0.17's default `BPFTRACE_MAP_KEYS_MAX`: the max_entries of every map it creates.
    static let defaultCapacity = 4096

    private(set) var sites: [String: [Site]] = [:]
    /// Maps bpftrace creates per-CPU (every aggregation map, and declared `percpu*` maps).
    private(set) var perCPU: Set<String> = []
    /// Declared LRU maps: an insert anywhere may evict any other entry.
    private(set) var leastRecentlyUsed: Set<String> = []
    private var declaredCapacity: [String: Int] = [:]
    private var configuredCapacity: Int?

    init(program: Program, constants: [String: Int64]) {
        for declaration in program.mapDeclarations {
            let type = declaration.mapType.lowercased()
            if type.contains("percpu") { perCPU.insert(declaration.name) }
            if type.contains("lru") { leastRecentlyUsed.insert(declaration.name) }
            if let value = declaration.maxEntries.value { declaredCapacity[declaration.name] = Int(clamping: value) }
        }
        for entry in program.config?.entries ?? [] where entry.key == "max_map_keys" {
            if case let .integer(literal) = entry.value.kind, let value = literal.value {
                configuredCapacity = Int(clamping: value)
            }
        }
        for (index, probe) in program.probes.enumerated() {
            collect(probe, index: index, constants: constants)
        }
    }

    /// What one walk of a probe found (a class: the tree walk's closures escape).
    private final class Found {
        var sites: [Site] = []
        var aggregated: Set<String> = []
    }

    private mutating func collect(_ probe: Probe, index: Int, constants: [String: Int64]) {
        let name = probe.attachPoints.map(\.text).joined(separator: ",")
        let kinds = probe.attachPoints.map(\.kind)
        let found = Found()
        func site(_ map: String, _ location: SourceLocation, keys: [Expression]?, stored: Site.Stored,
                  aggregate: Bool = false, inserts: Bool = true) {
            found.sites.append(Site(map: map, probeIndex: index, probeName: name, probeKinds: kinds,
                                    location: location, keys: keys, stored: stored, isAggregate: aggregate,
                                    inserts: inserts))
        }
        let transform = TreeTransform(
            expression: { expression in
                switch expression.kind {
                case let .incrementDecrement(_, _, operand):
                    if case let .map(map, keys) = operand.kind { site(map, expression.range.start, keys: keys, stored: .any) }
                case let .call(function, arguments):
                    guard let target = arguments.first, case let .map(map, keys) = target.kind else { break }
                    if function == "delete" {
                        site(map, expression.range.start, keys: keys.isEmpty ? Array(arguments.dropFirst()) : keys,
                             stored: .zero, inserts: false)
                    } else if function == "clear" || function == "zero" {
                        site(map, expression.range.start, keys: nil, stored: .zero, inserts: false)
                    }
                default:
                    break
                }
                return expression
            },
            statement: { statement in
                guard case let .assignment(target, op, value) = statement.kind,
                      case let .map(map, keys) = target.kind else { return [statement] }
                if op == .assign, case let .call(function, _) = value.kind, ProbeRun.aggregates.contains(function) {
                    // bpftrace keeps every aggregation (count, sum, min, max, avg, stats, hist,
                    // lhist) in a per-CPU map.
                    site(map, target.range.start, keys: keys, stored: .any, aggregate: true)
                    found.aggregated.insert(map)
                } else if op == .assign, Self.isConstant(value, constants) {
                    site(map, target.range.start, keys: keys, stored: .constant(value))
                } else {
                    site(map, target.range.start, keys: keys, stored: .any)
                }
                return [statement]
            })
        _ = transform.apply(probe)
        for item in found.sites { sites[item.map, default: []].append(item) }
        perCPU.formUnion(found.aggregated)
    }

    /// The max_entries of `map`: its declaration, the program's `max_map_keys`, or bpftrace's default.
    func capacity(of map: String) -> Int {
        declaredCapacity[map] ?? configuredCapacity ?? Self.defaultCapacity
    }

    /// Whether an insert into `map` can fail because the map is full: true unless the keys all
    /// its inserting stores can produce provably number at most its capacity. Entries are freed
    /// only by delete, so every key ever stored counts.
    func mayBeFull(_ map: String) -> Bool {
        if leastRecentlyUsed.contains(map) { return false } // LRU maps evict instead; see mayEvict
        var total = 0
        for site in sites[map] ?? [] where site.inserts {
            guard let keys = site.keys, let bound = Self.keyBound(keys) else { return true }
            total += bound
            if total > capacity(of: map) { return true }
        }
        return false
    }

    /// An upper bound on the distinct values of a key tuple, when syntax shows one.
    static func keyBound(_ keys: [Expression]) -> Int? {
        var product = 1
        for key in keys {
            guard let bound = valueBound(key) else { return nil }
            product = product.multipliedReportingOverflow(by: bound).overflow ? Int.max : product * bound
        }
        return product
    }

    private static func valueBound(_ expression: Expression) -> Int? {
        switch expression.kind {
        case .integer, .string, .boolean, .identifier:
            return 1
        case let .binary(.modulo, _, divisor):
            // `%` is unsigned in bpftrace: x % c is in 0..<c.
            if case let .integer(literal) = divisor.kind, let value = literal.value, value > 0, value <= 1 << 20 {
                return Int(value)
            }
            return nil
        case let .binary(.bitAnd, lhs, rhs):
            for side in [lhs, rhs] {
                if case let .integer(literal) = side.kind, let value = literal.value, value < 1 << 20 {
                    return Int(value) + 1
                }
            }
            return nil
        case let .cast(type, _):
            if type.pointerDepth == 0, type.base == "bool" || type.base == "_Bool" { return 2 }
            if case let .integer(bits, _)? = Defaults.shape(of: type), bits == 8 { return 256 }
            return nil
        case let .ternary(_, then, otherwise):
            guard let a = valueBound(then), let b = valueBound(otherwise) else { return nil }
            return a + b
        default:
            return nil
        }
    }

    /// Literals and named constants combined by operators and casts: a value no run can vary.
    static func isConstant(_ expression: Expression, _ constants: [String: Int64]) -> Bool {
        switch expression.kind {
        case .integer, .string, .boolean:
            return true
        case let .identifier(name):
            return constants[name] != nil
        case let .unary(op, operand):
            return op != .dereference && op != .addressOf && isConstant(operand, constants)
        case let .binary(_, lhs, rhs):
            return isConstant(lhs, constants) && isConstant(rhs, constants)
        case let .cast(_, operand):
            return isConstant(operand, constants)
        case let .ternary(condition, then, otherwise):
            return isConstant(condition, constants) && isConstant(then, constants) && isConstant(otherwise, constants)
        default:
            return false
        }
    }

    // MARK: Concurrency

    /// Probe kinds the kernel runs through `trace_call_bpf` or the perf overflow handler, which
    /// skip a BPF program while another such program runs on the same CPU (`bpf_prog_active`):
    /// two of them never nest. fentry/fexit, raw tracepoints, iterators and watchpoints are
    /// guarded per program only, so they may interrupt (or be interrupted by) another probe.
    static let nonNesting: Set<ProbeKind> = [.begin, .end, .tracepoint, .kprobe, .kretprobe, .uprobe, .uretprobe,
                                             .usdt, .profile, .interval, .software, .hardware]

    /// Whether a run of `writer` can store while a run of the reading probe is between two of
    /// its accesses to `site.map` at `readKeys`, on another CPU or nested on this one.
    func canInterfere(_ site: Site, readKeys: [Expression], readerKinds: [ProbeKind]) -> (crossCPU: Bool, nested: Bool) {
        let nested = !(site.probeKinds.allSatisfy(Self.nonNesting.contains)
                       && readerKinds.allSatisfy(Self.nonNesting.contains))
        // Another CPU runs another thread: it touches only its own slot of a per-CPU map, and an
        // entry keyed by `tid` at a position where this read also has `tid` is another entry.
        var crossCPU = !(perCPU.contains(site.map) && site.isAggregate)
        if crossCPU, let keys = site.keys, keys.count == readKeys.count {
            for (written, read) in zip(keys, readKeys) where Self.isThreadID(written) && Self.isThreadID(read) {
                crossCPU = false
            }
        }
        return (crossCPU, nested)
    }

    private static func isThreadID(_ expression: Expression) -> Bool {
        switch expression.kind {
        case .builtin("tid"): return true
        case let .call("tid", arguments): return arguments.isEmpty
        default: return false
        }
    }
}
