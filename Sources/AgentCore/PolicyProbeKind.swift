import BpftraceSyntax

/// A probe kind as `programs.probe_kinds` names it: one of bpftrace's providers, or the kind of
/// a BPF object program that bpftrace has no provider for (`lsm`, `fmod_ret`, `perf_event`,
/// `xdp`, …, libbpf's section prefix). One type for scripts and objects, so a policy entry, a
/// script's attach point and an object's section are compared as values, not spellings.
public enum PolicyProbeKind: Sendable, Hashable, CustomStringConvertible {
    case probe(ProbeKind)
    case object(String)

    /// Any bpftrace spelling (`kprobe`, `k`, `BEGIN`, `kfunc`) names the provider; anything
    /// else is an object kind.
    public init(name: String) {
        if let kind = ProbeKind.from(provider: name) { self = .probe(kind) } else { self = .object(name) }
    }

    /// The canonical name, as policies, refusals and hints print it.
    public var name: String {
        switch self {
        case .probe(let kind): return kind.canonicalProvider
        case .object(let name): return name
        }
    }

    public var description: String { name }
}
