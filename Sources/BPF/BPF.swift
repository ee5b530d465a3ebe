// BPF: a thin Swift wrapper over libbpf 1.1 (CBPF).
//
// Everything that touches a raw pointer or a libbpf handle stays inside this module. What leaves it
// is value types (ids, names, logs), `BPFError`, and classes that own a kernel resource and free it
// in `deinit` (`BPFFileDescriptor`, `BPFObject`, `BPFLink`), so a forgotten close cannot leak a
// program or a link.
//
// Entry points:
// - `BPFObject(elf:name:)` → `load()` → `programs` → `attach(_:)` → `BPFLink.pin(at:)`: load an
//   ELF object from memory, capture the verifier log, attach every program by its section.
// - `PinnedLink.open(at:)`, `PinnedLink.unpin(at:)`: reopen or remove links pinned in bpffs.
// - `BPFMap` (keys, per-CPU lookups, update, delete, pin), `BPFRingBuffer` (consume records)
//   and `PollSet` (one epoll over many ring buffers),
//   `PerfEvent.cpuClock` + `BPFObject.attach(programNamed:perfEvent:)` (interval/profile),
//   `BPFProgramFD` (pin, open pinned, `BPF_PROG_TEST_RUN`): what the native runtime needs.
// - `KernelPrograms.all()`, `KernelPrograms.info(id:)`: every program in the kernel, like
//   `bpftool prog list` (id, type, name, tag, uid, load time, map ids, memlock bytes).
import CBPF
import Foundation

/// The error every function of this module throws: which operation failed, the errno the kernel or
/// libbpf returned, and every log that explains it.
///
/// `verifierLog` is the kernel verifier's own text when a program load was refused; `libbpfLog` is
/// what libbpf printed at warning/info level during the call (it repeats the verifier log inside
/// "BEGIN PROG LOAD LOG" markers and adds libbpf's reason, e.g. a missing section or relocation).
public struct BPFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation that failed.
    public enum Operation: String, Sendable, Equatable {
        case open = "open object"
        case load = "load object"
        case attach = "attach program"
        case pin = "pin link"
        case unpin = "unpin"
        case openPinned = "open pinned object"
        case objectInfo = "get object info"
        case nextProgramID = "iterate program ids"
        case programByID = "open program by id"
        case invalidArgument = "invalid argument"
        case pinObject = "pin"
        case mapAccess = "map access"
        case ringBuffer = "ring buffer"
        case perfEvent = "open perf event"
        case testRun = "test run program"
    }

    public let operation: Operation
    /// Positive errno value (EACCES, EINVAL, ENOENT, ...); 0 when not from a system call.
    public let errno: Int32
    /// What the operation was applied to: a program name, a path, an id.
    public let subject: String
    /// The kernel verifier log, empty unless a program load was refused.
    public let verifierLog: String
    /// Messages libbpf printed during the call (warning and info levels).
    public let libbpfLog: String

    public init(_ operation: Operation, errno: Int32, subject: String,
                verifierLog: String = "", libbpfLog: String = "") {
        self.operation = operation
        self.errno = errno
        self.subject = subject
        self.verifierLog = verifierLog
        self.libbpfLog = libbpfLog
    }

    /// The errno's symbolic meaning, e.g. "Permission denied".
    public var errnoDescription: String {
        errno == 0 ? "" : String(cString: strerror(errno))
    }

    public var description: String {
        var text = "\(operation.rawValue) failed for \(subject)"
        if errno != 0 { text += ": \(errnoDescription) (errno \(errno))" }
        if !verifierLog.isEmpty { text += "\nverifier log:\n\(verifierLog)" }
        if !libbpfLog.isEmpty { text += "\nlibbpf:\n\(libbpfLog)" }
        return text
    }
}

/// Returns the libbpf/kernel errno for a failed call: libbpf 1.x returns `-errno` from int APIs and
/// sets `errno` for pointer APIs; both paths land here.
@inline(__always)
func currentErrno(_ returned: Int32 = 0) -> Int32 {
    if returned < 0 { return -returned }
    let e = Glibc.errno
    return e == 0 ? EINVAL : e
}
