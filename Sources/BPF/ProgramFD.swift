import CBPF
import Foundation

/// A loaded program this process holds an fd of, independent of any `BPFObject`: from
/// `BPFObject.program(named:)` or its pin (`open(pinned:)`). The native runtime pins END
/// programs this way, so an agent that restarts can still run them.
public struct BPFProgramFD: Sendable {
    public let fd: BPFFileDescriptor
    public let info: KernelProgramInfo

    init(owning rawFD: Int32, subject: String) throws {
        fd = BPFFileDescriptor(owning: rawFD)
        guard FDInfo.read(fd: rawFD)["prog_id"] != nil else {
            throw BPFError(.invalidArgument, errno: EINVAL, subject: "\(subject) is not a BPF program")
        }
        info = try KernelPrograms.info(fd: rawFD)
    }

    /// Opens the program pinned at `path`.
    public static func open(pinned path: String) throws -> BPFProgramFD {
        let raw = bpf_obj_get(path)
        guard raw >= 0 else { throw BPFError(.openPinned, errno: currentErrno(raw), subject: path) }
        return try BPFProgramFD(owning: raw, subject: path)
    }

    /// Pins the program at `path`: it stays loaded (not attached) until the pin is removed.
    public func pin(at path: String) throws {
        let rc = bpf_obj_pin(fd.rawValue, path)
        if rc != 0 { throw BPFError(.pinObject, errno: currentErrno(rc), subject: "program \(info.name) → \(path)") }
    }

    /// Runs the program once with `BPF_PROG_TEST_RUN` and no context (what a `raw_tp` program
    /// that reads no arguments, such as bpftrace's BEGIN and END, accepts). Returns its return
    /// value.
    ///
    /// - Throws: `BPFError` (.testRun), e.g. ENOTSUPP for program types the kernel cannot test-run.
    @discardableResult
    public func testRun() throws -> UInt32 {
        var options = bpf_test_run_opts()
        options.sz = MemoryLayout<bpf_test_run_opts>.size
        let rc = bpf_prog_test_run_opts(fd.rawValue, &options)
        if rc != 0 { throw BPFError(.testRun, errno: currentErrno(rc), subject: "program \(info.name)") }
        return options.retval
    }
}
