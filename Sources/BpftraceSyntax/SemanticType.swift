/// The type of an expression as bpftrace sees it. The parser leaves every `Expression.type`
/// nil; BpftraceSemantics fills it in. It is defined here (not in BpftraceSemantics) so the
/// AST can carry it and every later pass (verifier, printer, lowering) can read it without a
/// dependency on kernel resolution.
public indirect enum SemanticType: Sendable, Hashable, CustomStringConvertible {
    /// A fixed-width integer, e.g. `u64` is `.integer(bits: 64, signed: false)`.
    case integer(bits: Int, signed: Bool)
    /// bpftrace's `bool` (0.24+; older versions use integers).
    case boolean
    /// A string of at most `size` bytes (nil: size not yet known).
    case string(size: Int?)
    case pointer(to: SemanticType)
    /// A C struct or union, named with its keyword, e.g. `struct sock`.
    case record(name: String)
    /// A C enum, named with its keyword, e.g. `enum pid_type`.
    case enumeration(name: String)
    case array(of: SemanticType, count: Int)
    case tuple([SemanticType])
    /// Result of `buf()`; `size` in bytes when known.
    case buffer(size: Int?)
    /// Result of `ntop()`.
    case inet
    /// `kstack` / `ustack` values.
    case stack(user: Bool)
    /// Result of `ksym()` / `usym()`.
    case symbol(user: Bool)
    /// Result of `username`.
    case username
    /// Result of `strftime()`.
    case timestamp
    /// Result of `cgroup_path()`.
    case cgroupPath
    /// Result of `strerror()`.
    case errorString
    /// The value stored by a map aggregation function such as `count()` or `hist()`.
    case mapAggregate(MapAggregateKind)
    /// No value: statements, `print()`, `delete()`, etc.
    case none
    /// Resolution was attempted and failed, or the type is not modelled.
    case unknown

    public var description: String {
        switch self {
        case let .integer(bits, signed): return (signed ? "int" : "uint") + String(bits)
        case .boolean: return "bool"
        case let .string(size): return size.map { "string[\($0)]" } ?? "string"
        case let .pointer(to): return "\(to) *"
        case let .record(name): return name
        case let .enumeration(name): return name
        case let .array(of, count): return "\(of)[\(count)]"
        case let .tuple(elements): return "(" + elements.map(\.description).joined(separator: ", ") + ")"
        case let .buffer(size): return size.map { "buffer[\($0)]" } ?? "buffer"
        case .inet: return "inet"
        case let .stack(user): return user ? "ustack" : "kstack"
        case let .symbol(user): return user ? "usym" : "ksym"
        case .username: return "username"
        case .timestamp: return "timestamp"
        case .cgroupPath: return "cgroup_path"
        case .errorString: return "strerror"
        case let .mapAggregate(kind): return kind.rawValue
        case .none: return "none"
        case .unknown: return "unknown"
        }
    }
}

/// Map aggregation functions; their values can only be read in limited ways.
public enum MapAggregateKind: String, Sendable, Hashable, CaseIterable {
    case count, sum, avg, min, max, stats, hist, lhist, tseries
}
