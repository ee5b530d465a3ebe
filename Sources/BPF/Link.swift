import CBPF
import Foundation

/// An attached program: a libbpf `bpf_link`. Destroying it (deinit or `destroy()`) detaches the
/// program unless the link was pinned — a pin is a second reference held by bpffs.
///
/// Not `Sendable`: it wraps a libbpf handle; keep it in one task.
public final class BPFLink {
    private var handle: OpaquePointer?
    /// The program this link attaches.
    public let programName: String

    /// A perf event fd this process opened for the link (interval/profile probes), closed by
    /// `releaseKeepingPin()`.
    private var ownedPerfEventFD: Int32?

    init(handle: OpaquePointer, programName: String, ownedPerfEventFD: Int32? = nil) {
        self.handle = handle
        self.programName = programName
        self.ownedPerfEventFD = ownedPerfEventFD
    }

    /// Lets go of a pinned link without touching the kernel object: closes this process's fds
    /// and nothing else. Why not `destroy()`: libbpf's detach of a perf-event link first
    /// disables the perf event (`PERF_EVENT_IOC_DISABLE`), which stops a cpu-clock timer the
    /// pinned link still needs.
    public func releaseKeepingPin() {
        guard let handle else { return }
        let fd = bpf_link__fd(handle)
        bpf_link__disconnect(handle)
        _ = bpf_link__destroy(handle)
        self.handle = nil
        if fd >= 0 { _ = Glibc.close(fd) }
        if let event = ownedPerfEventFD, event != fd { _ = Glibc.close(event) }
        ownedPerfEventFD = nil
    }

    deinit { destroy() }

    /// Releases this process's reference (closes the link fd). Pinned links stay attached.
    public func destroy() {
        if let handle {
            _ = bpf_link__destroy(handle)
            self.handle = nil
        }
    }

    /// The link's file descriptor, or nil after `destroy()`.
    public var fd: Int32? {
        guard let handle else { return nil }
        let fd = bpf_link__fd(handle)
        return fd >= 0 ? fd : nil
    }

    /// Pins the link at `path` (a file in a bpffs mount; its directory must exist). The program
    /// then stays attached after this process lets go of the link, until the pin is removed.
    ///
    /// - Throws: `BPFError` (.pin), e.g. EEXIST if the path is taken, EINVAL if the link type
    ///   cannot be pinned.
    public func pin(at path: String) throws {
        guard let handle else {
            throw BPFError(.pin, errno: EBADF, subject: "\(programName) → \(path) (link destroyed)")
        }
        try LibbpfLog.shared.capture { messages in
            let rc = bpf_link__pin(handle, path)
            if rc != 0 {
                throw BPFError(.pin, errno: currentErrno(rc), subject: "\(programName) → \(path)",
                               libbpfLog: messages())
            }
        }
    }

    /// The kernel's description of the link: link id, program id, link type.
    public func info() throws -> LinkInfo {
        guard let fd else {
            throw BPFError(.objectInfo, errno: EBADF, subject: "link of \(programName) (destroyed)")
        }
        return try LinkInfo(fd: fd, subject: "link of \(programName)")
    }
}

/// What the kernel says about a link (`bpf_link_info`).
public struct LinkInfo: Sendable, Hashable {
    /// The link id (as in `bpftool link list`).
    public let id: UInt32
    /// The id of the program the link attaches.
    public let programID: UInt32
    /// The link type number (`enum bpf_link_type`).
    public let type: UInt32
    /// libbpf's name of the type, e.g. "perf_event", "tracing".
    public var typeName: String { bpfLinkTypeName(type) }

    /// Reads the info of a link fd.
    init(fd: Int32, subject: String) throws {
        var info = bpf_link_info()
        var length = UInt32(MemoryLayout<bpf_link_info>.size)
        let rc = bpf_obj_get_info_by_fd(fd, &info, &length)
        if rc != 0 {
            throw BPFError(.objectInfo, errno: currentErrno(rc), subject: subject)
        }
        id = info.id
        programID = info.prog_id
        type = info.type
    }
}
