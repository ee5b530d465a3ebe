import CBPF

/// One program of a `BPFObject`, as the ELF file describes it.
///
/// A value: it names the program; operations go through the owning `BPFObject`
/// (`attach(programNamed:)`, `programFD(named:)`), which keeps the libbpf handle private.
public struct BPFProgram: Sendable, Hashable {
    /// The C function name (libbpf's program name; the kernel keeps its first 15 bytes).
    public let name: String
    /// The ELF section, e.g. "tracepoint/syscalls/sys_enter_getpid"; it decides how it attaches.
    public let sectionName: String
    /// The kernel program type number (`enum bpf_prog_type`).
    public let type: UInt32
    /// libbpf's name for the type, e.g. "tracepoint", "kprobe", "lsm".
    public let typeName: String
    /// False for programs libbpf will not load (section written `SEC("?...")`).
    public var autoload = true

    public init(name: String, sectionName: String, type: UInt32, typeName: String, autoload: Bool = true) {
        self.name = name
        self.sectionName = sectionName
        self.type = type
        self.typeName = typeName
        self.autoload = autoload
    }
}

/// libbpf's name for a program type number ("tracepoint", "kprobe", ...), or "type N" if unknown.
public func bpfProgramTypeName(_ type: UInt32) -> String {
    if let name = libbpf_bpf_prog_type_str(bpf_prog_type(rawValue: type)) {
        return String(cString: name)
    }
    return "type \(type)"
}

/// libbpf's name for a link type number ("perf_event", "tracing", ...), or "type N" if unknown.
public func bpfLinkTypeName(_ type: UInt32) -> String {
    if let name = libbpf_bpf_link_type_str(bpf_link_type(rawValue: type)) {
        return String(cString: name)
    }
    return "type \(type)"
}
