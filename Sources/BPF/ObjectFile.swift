import CBPF
import Foundation

/// An eBPF ELF object opened from memory with libbpf: its programs, loading them through the
/// kernel verifier, and attaching them.
///
/// Lifetime: closing the object (deinit) unloads its programs *unless* something else holds them:
/// an attached `BPFLink` that is still alive, or a link pinned in bpffs. That is how the loader
/// keeps extensions in the kernel after it lets go of the object: attach, pin the link, drop both.
///
/// Not `Sendable`: libbpf objects are not thread-safe; use one from one task at a time.
public final class BPFObject {
    private let handle: OpaquePointer
    /// libbpf parses the ELF from this buffer lazily (until load), so it must outlive the object.
    private let elfBuffer: UnsafeMutableRawBufferPointer
    /// Receives the kernel verifier log. libbpf first loads with log level 0 and, on failure,
    /// retries at level 1 into this buffer, so a successful load costs no log work.
    private let logBuffer: UnsafeMutableBufferPointer<CChar>
    /// The object name given at open; kept for error messages.
    public let name: String
    /// True once `load()` succeeded.
    public private(set) var isLoaded = false

    /// Opens an ELF object held in memory (`clang -target bpf -c` output).
    ///
    /// - Parameters:
    ///   - elf: the object file bytes.
    ///   - name: object name for libbpf and error messages (e.g. the extension id).
    ///   - verifierLogCapacity: bytes reserved for the verifier log of a failed load.
    /// - Throws: `BPFError` (.open) when the bytes are not a usable BPF ELF object.
    public init(elf: [UInt8], name: String, verifierLogCapacity: Int = 8 << 20) throws {
        guard !elf.isEmpty else {
            throw BPFError(.invalidArgument, errno: EINVAL, subject: "object \(name): empty ELF")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: elf.count, alignment: 16)
        buffer.copyBytes(from: elf)
        let capacity = max(verifierLogCapacity, 4096)
        let log = try VerifierLogPages.allocate(capacity)

        let opened: OpaquePointer? = LibbpfLog.shared.capture { messages in
            name.withCString { cName -> OpaquePointer? in
                var opts = bpf_object_open_opts()
                opts.sz = MemoryLayout<bpf_object_open_opts>.size
                opts.object_name = cName
                opts.kernel_log_buf = log.baseAddress
                opts.kernel_log_size = capacity
                opts.kernel_log_level = 0
                Glibc.errno = 0
                return bpf_object__open_mem(buffer.baseAddress, elf.count, &opts)
            }
        }
        guard let opened else {
            let code = currentErrno()
            buffer.deallocate()
            VerifierLogPages.free(log)
            throw BPFError(.open, errno: code, subject: "object \(name)")
        }
        handle = opened
        elfBuffer = buffer
        logBuffer = log
        self.name = name
    }

    deinit {
        bpf_object__close(handle)
        elfBuffer.deallocate()
        VerifierLogPages.free(logBuffer)
    }

    /// The programs in the object, in ELF order.
    public var programs: [BPFProgram] {
        var result: [BPFProgram] = []
        var current = bpf_object__next_program(handle, nil)
        while let program = current {
            let type = bpf_program__type(program).rawValue
            result.append(BPFProgram(
                name: bpf_program__name(program).map { String(cString: $0) } ?? "",
                sectionName: bpf_program__section_name(program).map { String(cString: $0) } ?? "",
                type: type,
                typeName: bpfProgramTypeName(type),
                autoload: bpf_program__autoload(program)))
            current = bpf_object__next_program(handle, program)
        }
        return result
    }

    /// Loads every program (and map) into the kernel through the verifier.
    ///
    /// - Throws: `BPFError` (.load) whose `verifierLog` holds the kernel's explanation and whose
    ///   `libbpfLog` holds libbpf's (which program, which relocation).
    public func load() throws {
        if isLoaded { return }
        logBuffer[0] = 0
        try LibbpfLog.shared.capture { messages in
            let rc = bpf_object__load(handle)
            if rc != 0 {
                let code = currentErrno(rc)
                throw BPFError(.load, errno: code, subject: "object \(name)",
                               verifierLog: verifierLogText(), libbpfLog: messages())
            }
        }
        isLoaded = true
    }

    /// The verifier log the kernel wrote during the last program load (empty after a success at
    /// log level 0).
    public func verifierLogText() -> String {
        guard let base = logBuffer.baseAddress else { return "" }
        base[logBuffer.count - 1] = 0
        return String(cString: base).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The loaded program's file descriptor (valid while this object lives).
    ///
    /// - Throws: `BPFError` (.invalidArgument) if there is no such program or it is not loaded.
    public func programFD(named programName: String) throws -> Int32 {
        let program = try findProgram(programName)
        let fd = bpf_program__fd(program)
        guard fd >= 0 else {
            throw BPFError(.invalidArgument, errno: currentErrno(fd),
                           subject: "program \(programName) of \(name) is not loaded")
        }
        return fd
    }

    /// The kernel's view of a loaded program: id, tag, memlock, ...
    public func programInfo(named programName: String) throws -> KernelProgramInfo {
        try KernelPrograms.info(fd: try programFD(named: programName))
    }

    /// Attaches a loaded program the way its section name says (tracepoint/..., kprobe/...,
    /// fentry/..., lsm/..., ...), i.e. `bpf_program__attach`.
    ///
    /// - Returns: the link; the program stays attached while the link (or its pin) exists.
    /// - Throws: `BPFError` (.attach), e.g. ENOENT for a missing tracepoint, EPERM when the kernel
    ///   refuses the attach type.
    public func attach(programNamed programName: String) throws -> BPFLink {
        let program = try findProgram(programName)
        return try LibbpfLog.shared.capture { messages in
            Glibc.errno = 0
            guard let link = bpf_program__attach(program) else {
                throw BPFError(.attach, errno: currentErrno(), subject: "program \(programName)",
                               libbpfLog: messages())
            }
            return BPFLink(handle: link, programName: programName)
        }
    }

    /// A map of the object by its name in the ELF, with an fd of its own that outlives the
    /// object (valid once loaded).
    public func map(named mapName: String) throws -> BPFMap {
        guard let map = bpf_object__find_map_by_name(handle, mapName) else {
            throw BPFError(.invalidArgument, errno: ENOENT, subject: "map \(mapName) in object \(name)")
        }
        let fd = bpf_map__fd(map)
        guard fd >= 0 else {
            throw BPFError(.invalidArgument, errno: EBADF, subject: "map \(mapName) of \(name) is not loaded")
        }
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw BPFError(.mapAccess, errno: currentErrno(), subject: "dup map \(mapName)") }
        return try BPFMap(owning: copy, subject: "map \(mapName)")
    }

    /// Sets a map's `max_entries` before `load()` (e.g. a ring buffer's size in bytes).
    public func setMaxEntries(mapNamed mapName: String, _ entries: UInt32) throws {
        guard let map = bpf_object__find_map_by_name(handle, mapName) else {
            throw BPFError(.invalidArgument, errno: ENOENT, subject: "map \(mapName) in object \(name)")
        }
        let rc = bpf_map__set_max_entries(map, entries)
        if rc != 0 { throw BPFError(.invalidArgument, errno: currentErrno(rc), subject: "max_entries of map \(mapName)") }
    }

    /// Chooses, before `load()`, whether a program is loaded at all.
    public func setAutoload(programNamed programName: String, _ autoload: Bool) throws {
        let rc = bpf_program__set_autoload(try findProgram(programName), autoload)
        if rc != 0 { throw BPFError(.invalidArgument, errno: currentErrno(rc), subject: "autoload of \(programName)") }
    }

    /// A loaded program with an fd of its own that outlives the object.
    public func program(named programName: String) throws -> BPFProgramFD {
        let fd = try programFD(named: programName)
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw BPFError(.invalidArgument, errno: currentErrno(), subject: "dup program \(programName)") }
        return try BPFProgramFD(owning: copy, subject: "program \(programName)")
    }

    func findProgramHandle(_ programName: String) throws -> OpaquePointer { try findProgram(programName) }

    private func findProgram(_ programName: String) throws -> OpaquePointer {
        guard let program = bpf_object__find_program_by_name(handle, programName) else {
            throw BPFError(.invalidArgument, errno: ENOENT,
                           subject: "program \(programName) in object \(name)")
        }
        return program
    }
}

/// The verifier log buffer in pages of its own (anonymous mmap): untouched pages cost no memory
/// and unmapping returns every page to the system. Why not malloc: a multi-megabyte buffer
/// freed once raises glibc's mmap threshold, later ones then come from the heap, and every
/// load would leave megabytes of freed heap resident in the agent.
enum VerifierLogPages {
    static func allocate(_ capacity: Int) throws -> UnsafeMutableBufferPointer<CChar> {
        let raw = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let raw, raw != MAP_FAILED else {
            throw BPFError(.open, errno: currentErrno(), subject: "verifier log buffer of \(capacity) bytes")
        }
        let buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: CChar.self, capacity: capacity), count: capacity)
        return buffer
    }

    static func free(_ buffer: UnsafeMutableBufferPointer<CChar>) {
        if let base = buffer.baseAddress { munmap(base, buffer.count) }
    }
}
