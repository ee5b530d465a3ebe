import BpftraceSyntax

/// How a probe written by a user or a program maps onto a stored contract.
///
/// kprobe, kretprobe, kfunc/fentry and kretfunc/fexit all instrument the same BTF function, so
/// they share one `function:` contract; what differs is how a program spells the values
/// (`arg0` vs `args.sk`, `retval`), which `access` records.
public struct ProbeSpec: Sendable, Hashable, CustomStringConvertible {
    /// How the probe kind exposes arguments and the return value.
    public enum Access: String, Sendable, Hashable {
        /// `args.field` / `args->field` (tracepoints).
        case tracepointArgs
        /// `arg0`…`argN`, untyped (kprobe, rawtracepoint).
        case positional
        /// `retval` only (kretprobe).
        case positionalReturn
        /// `args.name` typed from BTF (kfunc/fentry).
        case namedArgs
        /// `args.name` and `retval` (kretfunc/fexit).
        case namedArgsAndReturn
    }

    public var kind: ProbeContract.Kind
    /// `syscalls:sys_enter_openat`, `tcp_connect`.
    public var name: String
    public var access: Access
    /// As written, e.g. `kprobe:tcp_v4_connect`.
    public var text: String

    public var key: String { ProbeContract.key(kind: kind, name: name) }
    public var description: String { text }

    /// Parses `tracepoint:syscalls:sys_enter_openat`, `t:…`, `kprobe:f`, `kretprobe:f`, `kfunc:f`,
    /// `fentry:f`, `kretfunc:f`, `fexit:f`, `rawtracepoint:n` (module prefixes such as
    /// `kfunc:vmlinux:f` allowed). Nil for kinds without kernel contracts (BEGIN, uprobe, …).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let kind = ProbeKind.from(provider: parts[0]) else { return nil }
        self.init(kind: kind, target: Array(parts.dropFirst()), text: text)
    }

    public init?(_ attachPoint: AttachPoint) {
        self.init(kind: attachPoint.kind, target: attachPoint.target, text: attachPoint.text)
    }

    init?(kind: ProbeKind, target: [String], text: String) {
        self.text = text
        switch kind {
        case .tracepoint:
            guard target.count == 2, !target[0].isEmpty, !target[1].isEmpty else { return nil }
            self.kind = .tracepoint
            self.name = target[0] + ":" + target[1]
            self.access = .tracepointArgs
        case .kprobe, .kretprobe, .fentry, .fexit:
            // `kprobe:f`, `kprobe:f+0x10`, `kfunc:vmlinux:f`: the function is the last part.
            guard var function = target.last, !function.isEmpty else { return nil }
            if let plus = function.firstIndex(of: "+") { function = String(function[..<plus]) }
            self.kind = .function
            self.name = function
            switch kind {
            case .kprobe: access = .positional
            case .kretprobe: access = .positionalReturn
            case .fentry: access = .namedArgs
            default: access = .namedArgsAndReturn
            }
        case .rawtracepoint:
            guard let last = target.last, !last.isEmpty else { return nil }
            self.kind = .rawTracepoint
            self.name = last
            self.access = .positional
        default:
            return nil
        }
    }
}
