import BPF

/// What a program may do beyond observing, named once for both kinds of program: a bpftrace
/// builtin and the BPF helpers an object calls map to the same capability, so one policy key
/// (`programs.allow`) governs scripts and objects alike. Every capability is refused unless the
/// policy allows it.
public enum ProgramCapability: String, Sendable, CaseIterable, Comparable {
    /// Send a signal to the current task: `signal()`, `bpf_send_signal`, `bpf_send_signal_thread`.
    case signal
    /// Change what a kernel function returns: `override()`, `bpf_override_return`,
    /// `bpf_bprm_opts_set`.
    case override
    /// Run a command as root: `system()`.
    case system
    /// Read a file as root: `cat()`, `bpf_ima_file_hash`, `bpf_ima_inode_hash`.
    case cat
    /// Write into a process's memory: `bpf_probe_write_user`.
    case writeUser = "write_user"
    /// Resolve a file's path from the kernel: `path()`, `bpf_d_path`.
    case dPath = "d_path"
    /// Use the bpf() system call from BPF: `bpf_sys_bpf`, `bpf_sys_close`,
    /// `bpf_btf_find_by_name_kind`, `bpf_kallsyms_lookup_name`.
    case sysBPF = "sys_bpf"

    public static func < (a: ProgramCapability, b: ProgramCapability) -> Bool { a.rawValue < b.rawValue }

    /// The bpftrace builtin that needs this capability, if any.
    public var builtin: String? {
        switch self {
        case .signal, .override, .system, .cat: return rawValue
        case .dPath: return "path"
        case .writeUser, .sysBPF: return nil
        }
    }

    /// The capability a bpftrace builtin call needs, nil for builtins that only observe.
    public init?(builtin name: String) {
        guard let capability = ProgramCapability.allCases.first(where: { $0.builtin == name }) else { return nil }
        self = capability
    }

    /// Builtins bpftrace itself runs only with `--unsafe`.
    public var needsBpftraceUnsafeFlag: Bool { self == .signal || self == .override || self == .system }

    /// Helper numbers (include/uapi/linux/bpf.h) that need this capability.
    public var helperIDs: [Int32] {
        let names: [String]
        switch self {
        case .signal: names = ["send_signal", "send_signal_thread"]
        case .override: names = ["override_return", "bprm_opts_set"]
        case .system: names = []
        case .cat: names = ["ima_file_hash", "ima_inode_hash"]
        case .writeUser: names = ["probe_write_user"]
        case .dPath: names = ["d_path"]
        case .sysBPF: names = ["sys_bpf", "sys_close", "btf_find_by_name_kind", "kallsyms_lookup_name"]
        }
        return names.compactMap { BPFHelpers.id(named: $0) }
    }

    /// The capability a helper call needs, nil for helpers that only observe.
    public init?(helperID: Int32) {
        guard let capability = ProgramCapability.allCases.first(where: { $0.helperIDs.contains(helperID) }) else { return nil }
        self = capability
    }

    /// The line an administrator adds to allow it.
    public var policyLine: String { "programs.allow = [\"\(rawValue)\"]" }

    static var knownList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The old name of `ProgramCapability`, from when only script builtins were covered.
public typealias UnsafeBuiltin = ProgramCapability
