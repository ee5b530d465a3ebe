import Foundation
import Glibc

/// Starts a child process with posix_spawn: stdin from /dev/null, stdout and stderr appended to
/// files, every other descriptor closed, in a new session, with default signal dispositions.
///
/// Why these choices:
/// - Output goes to *files*, not pipes: a bpftrace extension must outlive an agent restart, and a
///   child writing into a pipe whose reader died gets SIGPIPE. Files are also the per-extension
///   bounded logs the agent keeps (see `LogTailer`).
/// - A new session (setsid): a Ctrl-C on the agent's terminal or the agent's process group being
///   signalled does not reach the extension; only `stop()` does.
/// - No PR_SET_PDEATHSIG for extensions: they stay attached when the agent exits and the next
///   agent re-adopts them. Verify-only children get it (`ChildLimits.diesWithAgent`).
/// - Memory and CPU caps (`ChildLimits`) are set by wrappers that exec in place, before the child
///   runs its own code; every spawn happens on `SpawnThread` so a death signal tracks the agent.
/// - Close every inherited fd ≥ 3 (glibc's `posix_spawn_file_actions_addclosefrom_np`): the
///   child must not keep the agent's sockets, listening fds or BPF objects alive.
/// - Default signal dispositions and an empty mask: the agent (or its runtime) may ignore SIGPIPE
///   or block signals, and ignored signals survive exec.
enum ChildSpawn {
    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift by the Glibc module).
    private static let spawnSetSID: Int32 = 0x80

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc ≥ 2.34 provides it; looked up at run time because the Swift Glibc module hides it.
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0),
                                 "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Spawns `executable` with `arguments` (argv[1...]); returns the child's pid.
    ///
    /// - Throws: `BpftraceError.spawnFailed` with the errno of the failing step.
    static func spawn(executable: String, arguments: [String], environment: [String: String],
                      stdoutPath: String, stderrPath: String, limits: ChildLimits = .none) throws -> pid_t {
        let command = try limits.wrap(executable: executable, arguments: arguments)
        return try SpawnThread.shared.run {
            try spawnHere(executable: command.executable, arguments: command.arguments, environment: environment,
                          stdoutPath: stdoutPath, stderrPath: stderrPath)
        }
    }

    private static func spawnHere(executable: String, arguments: [String], environment: [String: String],
                                  stdoutPath: String, stderrPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw BpftraceError.spawnFailed(errno: errno) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { throw BpftraceError.spawnFailed(errno: errno) }
        defer { posix_spawnattr_destroy(&attributes) }

        // No O_CLOEXEC here: these become the child's fds 0-2 and must survive its exec.
        let appendFlags = O_WRONLY | O_CREAT | O_APPEND
        var rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if rc == 0 { rc = posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, appendFlags, 0o640) }
        if rc == 0 { rc = posix_spawn_file_actions_addopen(&actions, 2, stderrPath, appendFlags, 0o640) }
        if rc == 0, let closeFrom { rc = closeFrom(&actions, 3) }
        guard rc == 0 else { throw BpftraceError.spawnFailed(errno: rc) }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | spawnSetSID
        rc = posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))
        guard rc == 0 else { throw BpftraceError.spawnFailed(errno: rc) }

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = [executable] + arguments
        let envp = merged.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        rc = withCStringArray(argv) { cArgv in
            withCStringArray(envp) { cEnvp in
                posix_spawn(&pid, executable, &actions, &attributes, cArgv, cEnvp)
            }
        }
        guard rc == 0 else { throw BpftraceError.spawnFailed(errno: rc) }
        return pid
    }

    /// Calls `body` with a NULL-terminated C string array that lives for the call; returns
    /// `body`'s errno-style result (EINVAL if the array could not be built).
    private static func withCStringArray(_ strings: [String],
                                         _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return EINVAL }
            return body(base)
        }
    }
}
