import BpftraceSyntax
import KernelInfo

/// What `args`, `argN` and `retval` mean inside one probe, from its resolved attach points.
struct ProbeContext {
    var kinds: Set<ProbeKind> = []
    /// Formats of every tracepoint the probe attaches to (after wildcard expansion).
    var tracepoints: [TracepointFormat] = []
    /// Signatures of every kfunc/kretfunc target or raw tracepoint.
    var functions: [KernelFunction] = []
    /// Attach points whose args could not be looked up (unknown probe already reported):
    /// suppress follow-on field errors.
    var hasUnresolvedTargets = false

    var isTracepointOnly: Bool { kinds == [.tracepoint] }
    var hasFunctionArgs: Bool { !kinds.isDisjoint(with: [.fentry, .fexit, .rawtracepoint]) }
    var argsAvailable: Bool { !kinds.isEmpty && kinds.isSubset(of: [.tracepoint, .fentry, .fexit, .rawtracepoint, .uprobe, .uretprobe, .usdt]) }
    var argNAvailable: Bool { !kinds.isEmpty && kinds.isSubset(of: [.kprobe, .uprobe, .usdt, .rawtracepoint]) }
    var retvalAvailable: Bool { !kinds.isEmpty && kinds.isSubset(of: [.kretprobe, .uretprobe, .fexit]) }
}
