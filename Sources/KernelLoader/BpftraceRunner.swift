import BPF
import Foundation
import Glibc

/// Settings for running bpftrace extensions.
public struct BpftraceConfiguration: Sendable {
    /// Path of the bpftrace binary; nil: the first of PATH, /usr/bin, /usr/sbin, /usr/local/bin.
    public var executablePath: String?
    /// How long `start` waits for every probe to be attached before it gives up.
    public var attachTimeout: Duration
    /// How long `stop` waits after SIGINT before SIGTERM (then SIGKILL a second later).
    public var stopGracePeriod: Duration
    /// Pass `-v`: bpftrace then prints the kernel verifier log (on success and on rejection),
    /// which is what makes a rejection explainable. Without it bpftrace 0.17 only says
    /// "Error loading program ... (try -v)".
    public var verbose: Bool
    /// Extra command-line arguments, placed before the script (e.g. ["--unsafe"]).
    public var extraArguments: [String]
    /// Extra environment variables (e.g. BPFTRACE_STRLEN); the agent's environment is inherited.
    public var environment: [String: String]
    /// Bound of each live log file before it is rotated to `.1` (see `LogTailer`).
    public var logLimitBytes: Int
    /// How often the log files are read for new lines.
    public var pollInterval: Duration
    /// Memory and CPU caps, and whether the child dies with the agent.
    public var limits: ChildLimits

    public init(executablePath: String? = nil, attachTimeout: Duration = .seconds(30),
                stopGracePeriod: Duration = .seconds(5), verbose: Bool = true,
                extraArguments: [String] = [], environment: [String: String] = [:],
                logLimitBytes: Int = 1 << 20, pollInterval: Duration = .milliseconds(20),
                limits: ChildLimits = .none) {
        self.limits = limits
        self.executablePath = executablePath
        self.attachTimeout = attachTimeout
        self.stopGracePeriod = stopGracePeriod
        self.verbose = verbose
        self.extraArguments = extraArguments
        self.environment = environment
        self.logLimitBytes = logLimitBytes
        self.pollInterval = pollInterval
    }
}

/// What `BpftraceRunner.verify` learned from the kernel.
public struct BpftraceVerification: Sendable {
    /// The programs bpftrace loaded, as the kernel described them while they were loaded.
    public let programs: [KernelProgramInfo]
    /// Everything bpftrace printed (stderr, then stdout), including the verifier logs with `-v`.
    public let output: String
    /// From spawn to all probes attached.
    public let attachLatency: Duration
}

/// Starts, adopts and verifies bpftrace extensions.
///
/// Process model: each extension is a bpftrace child in its own session, writing to files in its
/// extension directory; it survives the agent (extensions stay attached unless told to detach),
/// and a restarted agent re-supervises it with `adopt(pid:directory:)` using the pid from its
/// registry.
///
/// Attach detection: bpftrace announces `attached_probes` *before* it loads and attaches, so
/// `start` returns only once, after that announcement, bpftrace has entered its event loop
/// (sleeping in epoll_wait, which it does only after attaching every probe and running BEGIN) or
/// has printed an event. If it exits first, or the timeout passes, `start` throws with all
/// output.
public struct BpftraceRunner: Sendable {
    public let configuration: BpftraceConfiguration

    public init(configuration: BpftraceConfiguration = BpftraceConfiguration()) {
        self.configuration = configuration
    }

    /// The bpftrace binary that will run.
    public func executable() throws -> String {
        if let path = configuration.executablePath {
            guard access(path, X_OK) == 0 else { throw BpftraceError.executableNotFound(path) }
            return path
        }
        let pathDirectories = (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map(String.init)
        let candidates = (pathDirectories + ["/usr/bin", "/usr/sbin", "/usr/local/bin"])
            .map { $0 + "/bpftrace" }
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) { return found }
        throw BpftraceError.executableNotFound(candidates.joined(separator: ", "))
    }

    /// The first line of `bpftrace --version` (`bpftrace v0.17.0`), or nil when it cannot be run.
    ///
    /// Spawned with `ChildSpawn` and reaped with `waitpid`, not Foundation's `Process`: `Process`
    /// watches its children through a CFSocket whose wake-up pair is an AF_INET socket, which the
    /// agent's unit forbids (RestrictAddressFamilies=AF_UNIX AF_NETLINK) — every start logged
    /// "Could not create wakeup socket pair for CFSocket".
    public func versionLine() -> String? {
        guard let executable = try? executable() else { return nil }
        let output = NSTemporaryDirectory() + "ken-bpftrace-version-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(output) }
        guard let pid = try? ChildSpawn.spawn(executable: executable, arguments: ["--version"], environment: [:],
                                              stdoutPath: output, stderrPath: "/dev/null") else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        guard status == 0, let data = FileManager.default.contents(atPath: output) else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Starts `script` as an extension and returns once all its probes are attached.
    ///
    /// Writes the script to `<directory>/script.bt` (created if missing, mode 0700) and runs
    /// `bpftrace -f json -B line [-v] <extra> <directory>/script.bt`.
    ///
    /// - Throws: `BpftraceError.exitedBeforeAttach` (script or verifier rejected; bpftrace's full
    ///   output attached), `.attachTimedOut`, `.executableNotFound`, `.spawnFailed`, `.directory`.
    public func start(script: String, directory: String) async throws -> BpftraceProcess {
        let (process, _) = try await startTimed(script: script, directory: directory)
        return process
    }

    /// Like `start`, and also returns the time from spawn to attached.
    public func startTimed(script: String, directory: String) async throws -> (BpftraceProcess, Duration) {
        let binary = try executable()
        try Self.prepare(directory: directory)
        let scriptPath = directory + "/script.bt"
        guard FileManager.default.createFile(atPath: scriptPath, contents: Data(script.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw BpftraceError.directory(path: scriptPath, errno: errno == 0 ? EIO : errno)
        }
        var arguments = ["-f", "json", "-B", "line"]
        if configuration.verbose { arguments.append("-v") }
        arguments += configuration.extraArguments
        arguments.append(scriptPath)

        let clock = ContinuousClock()
        let began = clock.now
        let hub = OutputHub()
        // Open the followers at the current end of the logs before the child writes anything.
        for name in ["stdout.log", "stderr.log"] where LogTailer.size(of: directory + "/" + name) == nil {
            _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: nil,
                                               attributes: [.posixPermissions: 0o640])
        }
        let tailers = OutputFollower.prepare(directory: directory, limitBytes: configuration.logLimitBytes)
        let pid = try ChildSpawn.spawn(executable: binary, arguments: arguments,
                                       environment: configuration.environment,
                                       stdoutPath: directory + "/stdout.log",
                                       stderrPath: directory + "/stderr.log",
                                       limits: configuration.limits)
        let watcher = ExitWatcher(pid: pid, isChild: true)
        OutputFollower.start(tailers, watcher: watcher, hub: hub, interval: configuration.pollInterval)

        let deadline = began.advanced(by: configuration.attachTimeout)
        var lastIDs: [UInt32] = []
        var stableSince: ContinuousClock.Instant?
        waiting: while true {
            if let status = watcher.current {
                // Let the follower read the last lines before reporting.
                _ = await waitForFollower(hub)
                if hub.attachAnnounced, status == .exited(code: 0) {
                    // The script attached, ran and ended by itself (exit() in BEGIN, ...).
                    break waiting
                }
                throw BpftraceError.exitedBeforeAttach(status: status, output: hub.startupText())
            }
            if hub.attachAnnounced {
                if hub.eventSeen { break waiting }
                switch ProcFS.isInEventLoop(pid) {
                case true?: break waiting
                case false?: stableSince = nil
                case nil:
                    // The kernel hides where the task sleeps: accept a program set that stopped
                    // growing for half a second.
                    let ids = ProcFS.programIDs(ofProcess: pid)
                    if ids != lastIDs { lastIDs = ids; stableSince = clock.now }
                    if !ids.isEmpty, let since = stableSince, clock.now - since > .milliseconds(500) { break waiting }
                }
            }
            if Task.isCancelled {
                // The caller gave up (its client went away): nothing of this start may remain.
                kill(pid, SIGKILL)
                _ = await watcher.wait()
                throw CancellationError()
            }
            if clock.now >= deadline {
                let process = BpftraceProcess(pid: pid, directory: directory, isAdopted: false,
                                              attachedProgramIDs: [], watcher: watcher, hub: hub,
                                              stopGracePeriod: configuration.stopGracePeriod)
                await process.stop(gracePeriod: .seconds(1))
                _ = await waitForFollower(hub)
                let seconds = Double(configuration.attachTimeout.components.seconds)
                    + Double(configuration.attachTimeout.components.attoseconds) / 1e18
                throw BpftraceError.attachTimedOut(seconds: seconds, output: hub.startupText())
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let latency = clock.now - began
        hub.endStartup()
        let process = BpftraceProcess(pid: pid, directory: directory, isAdopted: false,
                                      attachedProgramIDs: ProcFS.programIDs(ofProcess: pid),
                                      watcher: watcher, hub: hub,
                                      stopGracePeriod: configuration.stopGracePeriod)
        return (process, latency)
    }

    /// Takes over a bpftrace extension started by an earlier agent.
    ///
    /// Checks that `pid` is alive and that its command line runs `<directory>/script.bt` (so a
    /// recycled pid is never mistaken for the extension), then watches it through a pidfd and
    /// follows its log files from their current end.
    ///
    /// - Throws: `BpftraceError.processGone` or `.notBpftrace`.
    public func adopt(pid: Int32, directory: String) throws -> BpftraceProcess {
        guard pid > 0, let commandLine = ProcFS.commandLine(ofProcess: pid) else {
            throw BpftraceError.processGone(pid: pid)
        }
        let scriptPath = directory + "/script.bt"
        let isBpftrace = commandLine.first.map { ($0 as NSString).lastPathComponent.hasPrefix("bpftrace") } ?? false
        guard isBpftrace, commandLine.contains(scriptPath) else {
            throw BpftraceError.notBpftrace(pid: pid, commandLine: commandLine.joined(separator: " "))
        }
        let hub = OutputHub()
        hub.endStartup()
        let tailers = OutputFollower.prepare(directory: directory, limitBytes: configuration.logLimitBytes)
        let watcher = ExitWatcher(pid: pid, isChild: false)
        OutputFollower.start(tailers, watcher: watcher, hub: hub, interval: configuration.pollInterval)
        return BpftraceProcess(pid: pid, directory: directory, isAdopted: true,
                               attachedProgramIDs: ProcFS.programIDs(ofProcess: pid),
                               watcher: watcher, hub: hub,
                               stopGracePeriod: configuration.stopGracePeriod)
    }

    /// Passes `script` through bpftrace and the kernel verifier, then unloads it.
    ///
    /// bpftrace 0.17 has no load-without-attach mode: `-d`/`-dd` and `--emit-elf` are dry runs
    /// that never reach the kernel. So this is a real start (every program verified, loaded and
    /// attached), the programs recorded, then an immediate stop: whatever the script's probes do
    /// runs while they are attached. Callers that must run nothing give a script made inert first
    /// (the agent does: see `InertScript` in AgentCore). The child is stopped at once if the
    /// calling task is cancelled.
    ///
    /// - Throws: the same errors as `start`, and `CancellationError`.
    public func verify(script: String, directory: String) async throws -> BpftraceVerification {
        let (process, latency) = try await startTimed(script: script, directory: directory)
        let programs = process.attachedProgramIDs.compactMap { try? KernelPrograms.info(id: $0) }
        let lines = process.lines()
        await process.stop(gracePeriod: .seconds(1))
        var stdout: [String] = []
        for await line in lines where line.stream == .stdout { stdout.append(line.text) }
        let output = process.hub.startupText() + (stdout.isEmpty ? "" : "\n" + stdout.joined(separator: "\n"))
        return BpftraceVerification(programs: programs, output: output, attachLatency: latency)
    }

    /// Waits (briefly) until the follower has drained the logs after the child exited.
    private func waitForFollower(_ hub: OutputHub) async -> Bool {
        let stream = hub.subscribe()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(2))
        // The stream finishes when the follower has flushed; a deadline guards a stuck follower.
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { for await _ in stream {}; return true }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: clock)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Kills every bpftrace process whose command line names a file under `directory` (e.g. the
    /// verify-only children of an agent that died before it could stop them). Returns their pids.
    @discardableResult
    public static func killStrays(under directory: String) -> [Int32] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var killed: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid(), let argv = ProcFS.commandLine(ofProcess: pid),
                  let program = argv.first, (program as NSString).lastPathComponent.hasPrefix("bpftrace"),
                  argv.dropFirst().contains(where: { $0.hasPrefix(prefix) }) else { continue }
            if kill(pid, SIGKILL) == 0 { killed.append(pid) }
        }
        return killed
    }

    static func prepare(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw BpftraceError.directory(path: directory, errno: errno == 0 ? EIO : errno)
        }
    }
}
