
import BpftraceSyntax
import Foundation
import KenProto
import KenRPC
import KernelLoader
import Logging
import NativeABI
import NativeRuntime
import Registry
import Synchronization

/// Owns what runs in the kernel on the agent's behalf: bpftrace children and loaded objects.
/// Notices a child's death at once (the loader's exit watcher), records it as failed with its
/// last output, and restarts it per its policy.
final class ExtensionSupervisor: Sendable {
    /// One extension the supervisor currently holds.
    struct Running: Sendable {
        var process: BpftraceProcess?
        var object: LoadedObject?
        /// A native extension: programs loaded by the agent, output read by its runtime.
        var native: NativeExtension?
        /// Set when the agent itself stops the extension (detach, shutdown), so its exit is not
        /// reported as a failure.
        var stopping = false
    }

    let configuration: AgentConfiguration
    let registry: Registry
    let logger: Logger
    let running = Mutex<[String: Running]>([:])
    /// `bpftrace --version`'s first line, read once at start.
    let bpftraceVersion: String?
    /// Compiles scripts for the native backend (kernel facts read once, on first use).
    let builder = NativeBuilder()
    /// Native extensions whose program called `exit()` and whose end is not yet recorded.
    let exitedNatively = Mutex<Set<String>>([])

    init(configuration: AgentConfiguration, registry: Registry, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(
            executablePath: configuration.bpftracePath.contains("/") ? configuration.bpftracePath : nil))
        bpftraceVersion = runner.versionLine()
    }

    func notes(_ id: String) -> AgentNotes {
        AgentNotes(directory: configuration.extensionDirectory(id: id), maxBytes: 64 * 1024)
    }

    /// The runner for extensions: capped memory, the attach timeout as the start's wall-clock cap,
    /// and no death signal (extensions outlive the agent).
    func runner(unsafe: Bool) -> BpftraceRunner {
        BpftraceRunner(configuration: BpftraceConfiguration(
            executablePath: configuration.bpftracePath.contains("/") ? configuration.bpftracePath : nil,
            attachTimeout: .milliseconds(Int64(configuration.attachTimeoutSeconds * 1000)),
            extraArguments: unsafe ? ["--unsafe"] : [],
            logLimitBytes: configuration.policy.logMaxBytes,
            limits: ChildLimits(addressSpaceBytes: configuration.policy.childMemoryBytes)))
    }

    /// What the policy in force now says about a stored extension. Every start of a stored
    /// extension (reconciliation at agent start, a restart after it died) asks this again: the
    /// policy may have been tightened since the extension was attached.
    enum PolicyVerdict: Equatable {
        /// Allowed; `unsafe`: the script uses unsafe builtins the policy allows (bpftrace needs
        /// `--unsafe`).
        case allowed(unsafe: Bool)
        /// No longer allowed, with the policy's reason.
        case refused(String)
    }

    func currentPolicyVerdict(_ record: ExtensionRecord) -> PolicyVerdict {
        switch record.kind {
        case .bpftrace:
            do {
                let program = try ProgramChecker(policy: configuration.policy, dialect: .v0_17).check(record.programText)
                return .allowed(unsafe: program.needsUnsafeFlag)
            } catch {
                return .refused(error.message)
            }
        case .bpfObject:
            // The same inspection as at attach (kinds, helpers, kfuncs), on the stored bytes; an
            // object that cannot be read is refused, never waved through.
            let bytes = record.object.isEmpty ? ((try? registry.get(id: record.id, withObject: true))?.object ?? []) : record.object
            guard !bytes.isEmpty else { return .refused("the stored object cannot be read") }
            do {
                _ = try ProgramChecker(policy: configuration.policy, dialect: .v0_17).checkObject(bytes)
                return .allowed(unsafe: false)
            } catch {
                return .refused(error.message)
            }
        }
    }

    /// The text recorded for an extension the current policy refuses; `kenc list` and
    /// `kenc show` recognise it.
    static func refusedByPolicy(_ reason: String) -> String { "refused by policy: \(reason)" }

    // MARK: - Start

    /// Brings an `attaching` record into the kernel and commits the outcome. On failure the
    /// record is `failed` (committed) and the thrown status carries the kernel's or bpftrace's
    /// messages intact in `detail`.
    func start(_ record: ExtensionRecord, unsafe: Bool, artifact: NativeArtifact? = nil) async throws -> ExtensionRecord {
        switch record.kind {
        case .bpftrace where record.backend == .native:
            return try await startNative(record, artifact: artifact, restarts: record.restarts)
        case .bpftrace: return try await startScript(record, unsafe: unsafe, restarts: record.restarts)
        case .bpfObject: return try await startObject(record)
        }
    }

    func startScript(_ record: ExtensionRecord, unsafe: Bool, restarts: UInt32) async throws -> ExtensionRecord {
        let directory = configuration.extensionDirectory(id: record.id)
        let process: BpftraceProcess
        do {
            process = try await runner(unsafe: unsafe).start(script: record.programText, directory: directory)
        } catch let error as BpftraceError {
            let summary = Self.summary(of: error)
            try markFailed(record.id, error: summary + (error.output.isEmpty ? "" : "\n" + Self.tail(error.output, lines: 20)))
            notes(record.id).append("attach failed: \(summary)")
            throw RPCStatusError(.failedPrecondition, summary, detail: error.output.isEmpty ? error.description : error.output,
                                 hint: Self.hint(for: error))
        }
        running.withLock { $0[record.id] = Running(process: process) }
        let attached: ExtensionRecord
        do {
            attached = try registry.modify(id: record.id) {
                $0.state = .attached
                $0.pid = process.pid
                $0.progIDs = process.attachedProgramIDs
                $0.linkIDs = []
                $0.restarts = restarts
                $0.lastError = ""
            }
        } catch {
            // Could not record it: do not leave an unrecorded program in the kernel.
            running.withLock { $0[record.id]?.stopping = true }
            await process.stop()
            running.withLock { _ = $0.removeValue(forKey: record.id) }
            throw RPCStatusError(.internal, "attached, but the registry could not record it (\(error)); detached again")
        }
        notes(record.id).append("attached: bpftrace pid \(process.pid), programs \(process.attachedProgramIDs.map(String.init).joined(separator: ","))")
        watch(id: record.id, process: process)
        return attached
    }

    func markFailed(_ id: String, error: String) throws {
        try registry.modify(id: id) {
            $0.state = .failed
            $0.pid = 0
            $0.lastError = error
        }
    }

    static func summary(of error: BpftraceError) -> String {
        switch error {
        case .exitedBeforeAttach(let status, let output):
            return "bpftrace \(status) before attaching" + (BpftraceOutputSummary.headline(output).map { ": \($0)" } ?? "")
        case .attachTimedOut(let seconds, _):
            return "bpftrace did not attach its probes within \(seconds) s"
        default:
            return error.description
        }
    }

    static func hint(for error: BpftraceError) -> String {
        switch error {
        case .executableNotFound: return "install bpftrace or start ken-agent with --bpftrace PATH"
        case .exitedBeforeAttach: return "the detail holds bpftrace's full output, including the kernel verifier log"
        case .attachTimedOut: return "the probes may be too many or the system too busy; retry, or attach fewer probes"
        default: return ""
        }
    }

    static func tail(_ text: String, lines: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: - Supervision

    /// Waits for the process to end; unless the agent stopped it, records the failure and
    /// restarts per policy.
    func watch(id: String, process: BpftraceProcess) {
        Task { [self] in
            let status = await process.waitForExit()
            await self.exited(id: id, process: process, status: status)
        }
    }

    private func exited(id: String, process: BpftraceProcess, status: ExitStatus) async {
        let intentional = running.withLock { table -> Bool in
            guard let entry = table[id], entry.process?.pid == process.pid else { return true }
            if entry.stopping { return true }
            table.removeValue(forKey: id)
            return false
        }
        guard !intentional else { return }
        // Give the follower a moment to drain the last lines into the log files.
        try? await Task.sleep(for: .milliseconds(50))
        let output = process.recentOutput(maxBytes: 4096)
        let last = Self.tail([output.stderr, output.stdout].filter { !$0.isEmpty }.joined(separator: "\n"), lines: 10)
        let message = "bpftrace \(status)" + (last.isEmpty ? "" : "; last output:\n" + last)
        logger.warning("extension failed", metadata: ["id": "\(id)", "status": "\(status)"])
        notes(id).append("bpftrace \(status)")
        guard let record = try? registry.modify(id: id, { $0.state = .failed; $0.pid = 0; $0.lastError = message }) else { return }
        let wantsRestart: Bool
        switch record.restartPolicy {
        case .no: wantsRestart = false
        case .always: wantsRestart = true
        case .onFailure: wantsRestart = status != .exited(code: 0)
        }
        guard wantsRestart else { return }
        guard record.restarts < UInt32(configuration.policy.maxRestarts) else {
            notes(id).append("not restarted: \(record.restarts) restarts already (limit \(configuration.policy.maxRestarts))")
            return
        }
        // A short back-off so a script that dies at once does not spin.
        try? await Task.sleep(for: .milliseconds(200 * (1 << min(Int(record.restarts), 5))))
        guard let current = try? registry.get(id: id, withObject: false), current.state == .failed else { return }
        switch currentPolicyVerdict(current) {
        case .refused(let reason):
            _ = try? registry.modify(id: id) { $0.lastError = Self.refusedByPolicy(reason) }
            notes(id).append("not restarted: \(Self.refusedByPolicy(reason))")
        case .allowed(let unsafe):
            notes(id).append("restarting (policy \(record.restartPolicy.rawValue), restart \(record.restarts + 1))")
            _ = try? await startScript(current, unsafe: unsafe, restarts: record.restarts + 1)
        }
    }

    // MARK: - Detach

    /// Commits `detaching`, stops the extension (bpftrace child and its process group, or pinned
    /// links), then commits `detached`. A crash between the two commits leaves `detaching`,
    /// which reconciliation completes: a detached extension never comes back.
    func detach(id: String, reason: String) async throws -> ExtensionRecord {
        let entry = running.withLock { table -> Running? in
            table[id]?.stopping = true
            return table[id]
        }
        guard let record = try registry.get(id: id, withObject: false) else {
            throw RPCStatusError(.notFound, "no extension with id \(id)")
        }
        if record.state == .detached { return record }
        if record.state == .attaching, entry == nil {
            // The attach is still in flight (or reconciliation has not resolved it): detaching now
            // would race the attach committing `attached` afterwards.
            throw RPCStatusError(.failedPrecondition, "extension \(id) is still attaching", hint: "retry in a moment")
        }
        if record.state != .detaching {
            try registry.modify(id: id) { $0.state = .detaching }
        }
        try await stopEverything(record, entry: entry)
        running.withLock { _ = $0.removeValue(forKey: id) }
        let detached = try registry.modify(id: id) {
            $0.state = .detached
            $0.pid = 0
        }
        notes(id).append(reason)
        return detached
    }

    /// Stops what an extension has in the kernel: its bpftrace child (the one held, the recorded
    /// pid, or whatever process runs its script) with the child's whole process group, its
    /// native programs, or its pinned links.
    func stopEverything(_ record: ExtensionRecord, entry: Running?) async throws {
        let id = record.id
        if record.kind == .bpftrace, record.backend == .native {
            try stopNative(record, native: entry?.native)
        } else if let process = entry?.process {
            let status = await process.stop()
            notes(id).append("stopped: bpftrace \(status)")
        } else if record.runsOnBpftrace {
            let directory = configuration.extensionDirectory(id: id)
            let candidates = Set(([record.pid] + Self.processes(runningScript: directory + "/script.bt")).filter { $0 > 0 })
            for pid in candidates.sorted() {
                guard let adopted = try? runner(unsafe: false).adopt(pid: pid, directory: directory) else { continue }
                let status = await adopted.stop()
                notes(id).append("stopped: bpftrace pid \(pid) \(status)")
            }
        }
        if record.kind == .bpfObject {
            try detachObject(record, loaded: nil)
        }
    }

    /// Stops everything (detach-on-stop) or just lets go (the default: extensions stay attached
    /// and the next agent adopts them).
    func shutdown(detachAll: Bool) async {
        let ids = running.withLock { table in
            for key in table.keys { table[key]?.stopping = true }
            return Array(table.keys)
        }
        guard detachAll else { return }
        for id in ids { _ = try? await detach(id: id, reason: "detached: the agent stopped (detach_on_stop)") }
    }

    // MARK: - Kernel views

    func memlock(progIDs: [UInt32]) -> UInt64 {
        progIDs.reduce(0) { sum, id in sum + (ProgramTable.program(id: id)?.bytesMemlock ?? 0) }
    }

    func kernelPrograms() -> [Ken_V1_KernelProgram] {
        ((try? ProgramTable.all()) ?? []).map { info in
            Ken_V1_KernelProgram.with {
                $0.id = info.id
                $0.type = info.typeName
                $0.name = info.name
                $0.tag = info.tag
                $0.memlockBytes = info.bytesMemlock ?? 0
                $0.uid = info.uid
                $0.loadedAtUnixMs = UInt64(max(0, info.loadedAt.timeIntervalSince1970 * 1000))
                $0.mapIds = info.mapIDs
            }
        }
    }

    func isRunning(id: String) -> Bool { running.withLock { $0[id] != nil } }
}
