import Foundation

/// Why a bpftrace extension could not be started, verified or adopted.
///
/// `exitedBeforeAttach` and `attachTimedOut` are FAILED_PRECONDITION-class: the script (or the
/// kernel) refused; `output` holds everything bpftrace wrote, stdout and stderr, unabridged —
/// bpftrace's own diagnostic and, because the runner passes `-v`, the kernel verifier log.
public enum BpftraceError: Error, Sendable, CustomStringConvertible {
    /// No bpftrace binary at the configured path or on PATH.
    case executableNotFound(String)
    /// The directory for the script and logs could not be prepared.
    case directory(path: String, errno: Int32)
    /// posix_spawn failed.
    case spawnFailed(errno: Int32)
    /// bpftrace exited before its probes were attached: a parse/semantic error, a missing probe,
    /// or a verifier rejection.
    case exitedBeforeAttach(status: ExitStatus, output: String)
    /// bpftrace did not finish attaching within the timeout; it was stopped.
    case attachTimedOut(seconds: Double, output: String)
    /// `adopt`: no process with this pid exists.
    case processGone(pid: Int32)
    /// `adopt`: the pid belongs to a process that is not this extension's bpftrace (pid reuse).
    case notBpftrace(pid: Int32, commandLine: String)

    /// Everything bpftrace printed, for errors that have it.
    public var output: String {
        switch self {
        case .exitedBeforeAttach(_, let output), .attachTimedOut(_, let output): return output
        default: return ""
        }
    }

    public var description: String {
        switch self {
        case .executableNotFound(let path):
            return "bpftrace not found (looked for \(path))"
        case .directory(let path, let errno):
            return "cannot prepare \(path): \(String(cString: strerror(errno)))"
        case .spawnFailed(let errno):
            return "cannot start bpftrace: \(String(cString: strerror(errno)))"
        case .exitedBeforeAttach(let status, let output):
            return "bpftrace \(status) before attaching its probes:\n\(output)"
        case .attachTimedOut(let seconds, let output):
            return "bpftrace did not attach within \(seconds) s and was stopped:\n\(output)"
        case .processGone(let pid):
            return "process \(pid) no longer exists"
        case .notBpftrace(let pid, let commandLine):
            return "process \(pid) is not this extension's bpftrace (command line: \(commandLine))"
        }
    }
}
