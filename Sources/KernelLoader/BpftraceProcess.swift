import BPF
import Foundation
import Glibc

/// A running bpftrace extension under supervision: started by `BpftraceRunner.start` or taken
/// over after an agent restart by `BpftraceRunner.adopt`.
///
/// Output: the child's stdout and stderr go to `<directory>/stdout.log` and `stderr.log`
/// (bounded, see `LogTailer`); a follower task reads them every few milliseconds and publishes
/// each line to every `lines()` stream. Because the files, not pipes, carry the output, the child
/// survives the agent and an adopted child's output can be followed again.
public final class BpftraceProcess: Sendable {
    /// The bpftrace process id (also its process group and session id).
    public let pid: Int32
    /// The extension's directory: script.bt, stdout.log, stderr.log and their `.1` generations.
    public let directory: String
    /// True when this process was taken over from an earlier agent (exit status unknowable).
    public let isAdopted: Bool
    /// The kernel program ids the process held once attached (for an adopted process: when it
    /// was adopted). Read from /proc/<pid>/fdinfo; `currentProgramIDs()` reads them again.
    public let attachedProgramIDs: [UInt32]

    let watcher: ExitWatcher
    let hub: OutputHub
    let stopGracePeriod: Duration

    init(pid: Int32, directory: String, isAdopted: Bool, attachedProgramIDs: [UInt32],
         watcher: ExitWatcher, hub: OutputHub, stopGracePeriod: Duration) {
        self.pid = pid
        self.directory = directory
        self.isAdopted = isAdopted
        self.attachedProgramIDs = attachedProgramIDs
        self.watcher = watcher
        self.hub = hub
        self.stopGracePeriod = stopGracePeriod
    }

    /// A new stream of the output lines written from now on (stdout and stderr, tagged and
    /// timestamped). Each call gives an independent stream; it finishes when the process has
    /// exited and its last lines were read. Keeps the newest 10 000 lines if not consumed.
    public func lines() -> AsyncStream<OutputLine> {
        hub.subscribe()
    }

    /// Suspends until the process exits; returns at once if it already has. A kill -9 or a crash
    /// is noticed immediately (waitpid / pidfd), not at the next poll.
    public func waitForExit() async -> ExitStatus {
        await watcher.wait()
    }

    /// The exit status if the process has ended, nil while it runs.
    public var exitStatus: ExitStatus? { watcher.current }

    /// The program ids the process holds right now (from /proc/<pid>/fdinfo).
    public func currentProgramIDs() -> [UInt32] {
        watcher.current == nil ? ProcFS.programIDs(ofProcess: pid) : []
    }

    /// Stops the extension: SIGINT (bpftrace detaches, prints its maps and runs END blocks), then
    /// SIGTERM after the grace period, then SIGKILL one second later. Returns how it ended.
    /// Safe to call more than once and after the process ended.
    ///
    /// The signals go to bpftrace's whole process group (it leads one: it is spawned in its own
    /// session), and once bpftrace has ended, whatever is left in the group is killed: commands
    /// its `system()` started do not outlive the extension. A process that moved itself to
    /// another group or session escapes this.
    @discardableResult
    public func stop(gracePeriod: Duration? = nil) async -> ExitStatus {
        let group = leadsProcessGroup
        defer { if group { killGroup(SIGKILL) } }
        if let status = watcher.current { return status }
        signal(SIGINT, group: group)
        if let status = await watcher.wait(timeout: gracePeriod ?? stopGracePeriod) { return status }
        signal(SIGTERM, group: group)
        if let status = await watcher.wait(timeout: .seconds(1)) { return status }
        signal(SIGKILL, group: group)
        return await watcher.wait()
    }

    /// True while `pid` is the leader of its own process group (checked before signalling the
    /// group, so an adopted pid that is not a group leader never signals someone else's group).
    /// After bpftrace has exited and been reaped, its group id stays reserved while members
    /// remain, so the check made before the stop still holds for the sweep after it.
    private var leadsProcessGroup: Bool { watcher.current == nil && getpgid(pid) == pid }

    private func signal(_ signal: Int32, group: Bool) {
        if group { killGroup(signal) } else { kill(pid, signal) }
    }

    private func killGroup(_ signal: Int32) { kill(-pid, signal) }

    /// The recent output kept on disk (previous and live generation), at most `maxBytes` per
    /// stream; this is what survives an agent restart.
    public func recentOutput(maxBytes: Int = 64 * 1024) -> RecentOutput {
        BpftraceProcess.recentOutput(directory: directory, maxBytes: maxBytes)
    }

    /// The recent output of an extension directory, whether or not its process still runs.
    public static func recentOutput(directory: String, maxBytes: Int = 64 * 1024) -> RecentOutput {
        RecentOutput(stdout: LogTailer.recentText(path: directory + "/stdout.log", maxBytes: maxBytes),
                     stderr: LogTailer.recentText(path: directory + "/stderr.log", maxBytes: maxBytes))
    }
}

/// The output an extension left in its log files.
public struct RecentOutput: Sendable, Hashable {
    /// bpftrace's stdout (JSON lines), oldest first.
    public let stdout: String
    /// bpftrace's stderr, oldest first.
    public let stderr: String
}

/// Follows both log files of a process and publishes lines until it exits.
enum OutputFollower {
    /// Opens both tailers at the current end of the logs; call before the child may write.
    static func prepare(directory: String, limitBytes: Int) -> TailerBox {
        TailerBox(out: LogTailer(path: directory + "/stdout.log", stream: .stdout, limitBytes: limitBytes),
                  err: LogTailer(path: directory + "/stderr.log", stream: .stderr, limitBytes: limitBytes))
    }

    static func start(_ box: TailerBox, watcher: ExitWatcher, hub: OutputHub, interval: Duration) {
        Task.detached {
            while true {
                let exited = watcher.current != nil
                box.emit(into: hub, final: exited)
                if exited { break }
                try? await Task.sleep(for: interval)
            }
            hub.finish()
        }
    }
}

/// Owns the two tailers; only the follower task touches them.
final class TailerBox: @unchecked Sendable {
    let out: LogTailer
    let err: LogTailer
    init(out: LogTailer, err: LogTailer) {
        self.out = out
        self.err = err
    }

    func emit(into hub: OutputHub, final: Bool) {
        for tailer in [err, out] {
            let now = Date()
            let lines = final ? tailer.flush() : tailer.poll()
            for line in lines {
                hub.publish(OutputLine.decode(line, stream: tailer.stream, timestamp: now), raw: line)
            }
        }
    }
}
