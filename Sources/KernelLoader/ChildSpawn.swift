import Foundation
import Spawn
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
    /// Spawns `executable` with `arguments` (argv[1...]); returns the child's pid.
    ///
    /// - Throws: `BpftraceError.spawnFailed` with the errno of the failing step.
    static func spawn(executable: String, arguments: [String], environment: [String: String],
                      stdoutPath: String, stderrPath: String, limits: ChildLimits = .none) throws -> pid_t {
        let command = try limits.wrap(executable: executable, arguments: arguments)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let envp = merged.map { "\($0.key)=\($0.value)" }
        return try SpawnThread.shared.run {
            do {
                return try Spawn.start(executable: command.executable, arguments: command.arguments, environment: envp,
                                       stdout: .append(stdoutPath), stderr: .append(stderrPath), newSession: true)
            } catch {
                throw BpftraceError.spawnFailed(errno: (error as? Spawn.Failure)?.errno ?? EINVAL)
            }
        }
    }
}
