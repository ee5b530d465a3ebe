import Foundation
import Glibc
import Synchronization

/// Caps a child the agent starts gets before it runs any of its own code, so one request cannot
/// exhaust the machine (clang reading an endless file once grew a root bpftrace to 9.7 GB).
///
/// How: the child is started through util-linux's `prlimit` (sets the rlimits, then execs) and,
/// for children that must not outlive the agent, `setpriv --pdeathsig KILL` (sets
/// PR_SET_PDEATHSIG, then execs). Both exec in place, so the pid, /proc/<pid>/cmdline and the exit
/// status are bpftrace's. posix_spawn cannot set either itself, and setting them from the agent
/// after the spawn would leave a window in which the child runs uncapped.
public struct ChildLimits: Sendable, Equatable {
    /// RLIMIT_AS (bytes of address space), soft and hard.
    public var addressSpaceBytes: Int?
    /// RLIMIT_CPU (seconds of CPU time): a backstop behind the wall-clock caps.
    public var cpuSeconds: Int?
    /// SIGKILL the child when the agent dies (verify-only children; extensions outlive the agent).
    public var diesWithAgent: Bool

    public init(addressSpaceBytes: Int? = nil, cpuSeconds: Int? = nil, diesWithAgent: Bool = false) {
        self.addressSpaceBytes = addressSpaceBytes
        self.cpuSeconds = cpuSeconds
        self.diesWithAgent = diesWithAgent
    }

    public static let none = ChildLimits()

    /// The command that runs `executable arguments` under these limits. Core dumps are always
    /// off: a capped child that crashes must not write gigabytes as root.
    ///
    /// - Throws: `BpftraceError.executableNotFound` when prlimit or setpriv is missing.
    func wrap(executable: String, arguments: [String]) throws -> (executable: String, arguments: [String]) {
        guard self != .none else { return (executable, arguments) }
        var wrapped: [String] = []
        let prlimit = try Self.tool("prlimit")
        var limits = ["--core=0"]
        if let addressSpaceBytes { limits.append("--as=\(addressSpaceBytes)") }
        if let cpuSeconds { limits.append("--cpu=\(cpuSeconds)") }
        wrapped += limits + ["--"]
        if diesWithAgent { wrapped += [try Self.tool("setpriv"), "--pdeathsig", "KILL", "--"] }
        return (prlimit, wrapped + [executable] + arguments)
    }

    static func tool(_ name: String) throws -> String {
        let candidates = ["/usr/bin/\(name)", "/bin/\(name)", "/usr/sbin/\(name)"]
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw BpftraceError.executableNotFound(candidates.joined(separator: ", ") + " (util-linux)")
        }
        return found
    }
}

/// One thread that lives as long as the process and performs every spawn.
///
/// PR_SET_PDEATHSIG fires when the *thread* that created the child exits, not the process: a
/// child spawned from a pool thread the runtime later retires would be killed early. Spawning
/// from a thread that never exits ties the signal to the agent's death.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let next = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                next?()
            }
        }
        thread.name = "ken-spawn"
        thread.start()
    }

    /// The result of one job; the semaphore orders the write before the read.
    private final class Slot<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
        let done = DispatchSemaphore(value: 0)
    }

    /// Runs `body` on the spawn thread and returns its result; blocks the caller for as long as
    /// a spawn takes (milliseconds).
    func run<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let slot = Slot<T>()
        jobs.withLock { $0.append { slot.result = Result(catching: body); slot.done.signal() } }
        wake.signal()
        slot.done.wait()
        return try slot.result!.get()
    }
}
