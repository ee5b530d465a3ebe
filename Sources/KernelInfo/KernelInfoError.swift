/// Why kernel information could not be read.
public enum KernelInfoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Neither /sys/kernel/tracing nor /sys/kernel/debug/tracing is mounted and readable.
    case tracefsUnavailable
    /// The kernel's BTF could not be loaded (reason from libbpf).
    case btfUnavailable(String)
    /// A tracepoint does not exist (no `events/<category>/<name>/format`).
    case noSuchTracepoint(category: String, name: String)
    /// A tracefs file could not be read.
    case unreadable(path: String)
    /// A `format` file did not have the expected shape.
    case malformedFormat(path: String, detail: String)

    public var description: String {
        switch self {
        case .tracefsUnavailable:
            return "tracefs is not mounted or not readable (looked in \(Tracefs.defaultRoots.joined(separator: ", ")); "
                + "as a user other than root, start ken-agent, which publishes a readable copy in /run/ken/tracing)"
        case let .btfUnavailable(reason):
            return "kernel BTF unavailable: \(reason)"
        case let .noSuchTracepoint(category, name):
            return "no tracepoint \(category):\(name)"
        case let .unreadable(path):
            return "cannot read \(path)"
        case let .malformedFormat(path, detail):
            return "malformed tracepoint format \(path): \(detail)"
        }
    }
}
