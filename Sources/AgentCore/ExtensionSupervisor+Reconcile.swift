import Foundation
import KernelLoader
import Registry

/// What reconciliation did with one record, for logs and tests.
public struct ReconcileOutcome: Sendable, Equatable {
    public enum Action: String, Sendable {
        /// A still-running bpftrace child was taken over.
        case adopted
        /// Pinned links were found and taken over.
        case adoptedPins
        /// Started again (bpftrace gone, or pins gone after a reboot).
        case restarted
        /// A make-before-break replacement the previous agent left half done: the old version
        /// was detached and this one took its name.
        case replacementCompleted
        /// Could not be restored; the record is failed with the reason.
        case failed
        /// The policy in force no longer allows it: stopped, and failed with
        /// `refused by policy: <reason>`.
        case refused
        /// Only some of an object's programs were pinned (the agent died mid-attach): those were
        /// unpinned and the stored object attached again from the start.
        case rolledBack
        /// A detach the previous agent committed but did not finish was completed.
        case detachCompleted
    }

    /// Whether the extension runs after this outcome.
    public var isRestored: Bool { [.adopted, .adoptedPins, .restarted, .rolledBack].contains(action) }

    public var id: String
    public var action: Action
    public var reason: String

    public init(id: String, action: Action, reason: String) {
        self.id = id
        self.action = action
        self.reason = reason
    }
}

extension ExtensionSupervisor {
    /// Brings the kernel and the registry back into agreement at agent start: a committed detach
    /// is completed; every record that should be attached is checked against the policy in force
    /// now (and stopped if refused), then adopted, finished, started again, or marked failed with
    /// the reason.
    func reconcile() async -> [ReconcileOutcome] {
        let records: [ExtensionRecord]
        do {
            records = try registry.list(states: [.attaching, .attached, .detaching])
        } catch {
            logger.error("reconciliation cannot read the registry", metadata: ["error": "\(error)"])
            return []
        }
        var outcomes: [ReconcileOutcome] = []
        for record in records {
            let outcome: ReconcileOutcome
            if record.state == .detaching {
                outcome = await completeDetach(record)
            } else {
                switch (currentPolicyVerdict(record), record.kind) {
                case (.refused(let reason), _): outcome = await refuse(record, reason: reason)
                case (.allowed(let unsafe), .bpftrace) where record.backend == .native:
                    outcome = await reconcileNative(record, unsafe: unsafe)
                case (.allowed(let unsafe), .bpftrace): outcome = await reconcileScript(record, unsafe: unsafe)
                case (.allowed, .bpfObject): outcome = await reconcileObject(record)
                }
            }
            logger.info("reconciled", metadata: ["id": "\(record.id)", "action": "\(outcome.action.rawValue)", "reason": "\(outcome.reason)"])
            outcomes.append(outcome)
        }
        return outcomes + (await finishReplacements())
    }

    private func reconcileScript(_ record: ExtensionRecord, unsafe: Bool) async -> ReconcileOutcome {
        let directory = configuration.extensionDirectory(id: record.id)
        // The pid in the record, or — when the agent died between spawning bpftrace and recording
        // it — whatever process runs this extension's script.
        let candidates = ([record.pid] + Self.processes(runningScript: directory + "/script.bt")).filter { $0 > 0 }
        var why = record.pid > 0 ? "bpftrace pid \(record.pid) is gone" : "no bpftrace process was recorded"
        for pid in Set(candidates).sorted() {
            do {
                let process = try runner(unsafe: false).adopt(pid: pid, directory: directory)
                running.withLock { $0[record.id] = Running(process: process) }
                _ = try registry.modify(id: record.id) {
                    $0.state = .attached
                    $0.pid = process.pid
                    $0.progIDs = process.attachedProgramIDs
                }
                notes(record.id).append("adopted by a new agent: bpftrace pid \(pid)")
                watch(id: record.id, process: process)
                return ReconcileOutcome(id: record.id, action: .adopted, reason: "bpftrace pid \(pid) still runs")
            } catch {
                why = "\(error)"
            }
        }
        return await startAgain(record, why: why) {
            _ = try await self.startScript(record, unsafe: unsafe, restarts: record.restarts + 1)
        }
    }

    /// Starts an extension that was not running after an agent restart (`why`), noting it, with
    /// either backend's `start`.
    func startAgain(_ record: ExtensionRecord, why: String, start: () async throws -> Void) async -> ReconcileOutcome {
        notes(record.id).append("not running after agent restart (\(why)); starting again")
        do {
            try await start()
            return ReconcileOutcome(id: record.id, action: .restarted, reason: why)
        } catch {
            return ReconcileOutcome(id: record.id, action: .failed, reason: "\(why); starting again failed: \(error)")
        }
    }

    private func reconcileObject(_ record: ExtensionRecord) async -> ReconcileOutcome {
        if let partial = partialAttach(record) {
            // The previous agent died between pinning the first and the last program: what is
            // pinned is not the extension. Roll back, then attach the stored object again.
            notes(record.id).append("partial attach found (\(partial)); unpinning and attaching again")
            do {
                try objectLoader.detach(extensionID: record.id)
                _ = try await startObject(record)
                return ReconcileOutcome(id: record.id, action: .rolledBack, reason: partial)
            } catch {
                let reason = "partial attach (\(partial)) could not be redone: \(error)"
                _ = try? registry.modify(id: record.id) { $0.state = .failed; $0.lastError = reason; $0.progIDs = []; $0.linkIDs = [] }
                notes(record.id).append(reason)
                return ReconcileOutcome(id: record.id, action: .failed, reason: reason)
            }
        }
        do {
            let loaded = try objectLoader.adoptPinned(extensionID: record.id)
            _ = try recordLoaded(record.id, loaded, note: "adopted pinned links")
            return ReconcileOutcome(id: record.id, action: .adoptedPins, reason: "links pinned in \(loaded.pinDirectory)")
        } catch ObjectLoaderError.notPinned(let directory) {
            // bpffs was emptied (reboot) or the attach never finished: load from the stored bytes.
            notes(record.id).append("no pins in \(directory); loading the stored object again")
            do {
                _ = try await startObject(record)
                return ReconcileOutcome(id: record.id, action: .restarted, reason: "no pins in \(directory)")
            } catch {
                return ReconcileOutcome(id: record.id, action: .failed, reason: "no pins, and loading again failed: \(error)")
            }
        } catch {
            let reason = "pinned links cannot be adopted: \(error)"
            _ = try? registry.modify(id: record.id) { $0.state = .failed; $0.lastError = reason }
            notes(record.id).append(reason)
            return ReconcileOutcome(id: record.id, action: .failed, reason: reason)
        }
    }

    /// Compares an object extension's pins with its stored object: nil when every program the
    /// object has is pinned (or nothing is), else a sentence saying which are missing.
    func partialAttach(_ record: ExtensionRecord) -> String? {
        guard let directory = try? objectLoader.pinDirectory(for: record.id),
              let pinned = try? FileManager.default.contentsOfDirectory(atPath: directory), !pinned.isEmpty else { return nil }
        guard let stored = try? registry.get(id: record.id, withObject: true),
              let expected = try? ObjectLoader.programNames(elf: stored.object) else {
            return "\(pinned.count) pins, and the stored object cannot be read"
        }
        let missing = Set(expected).subtracting(pinned)
        let strange = Set(pinned).subtracting(expected)
        guard !missing.isEmpty || !strange.isEmpty else { return nil }
        return "\(Set(pinned).intersection(expected).count) of \(expected.count) programs pinned"
            + (strange.isEmpty ? "" : ", and \(strange.count) pins the object does not have")
    }

    /// Finishes a detach the previous agent committed (`detaching`) but did not complete.
    func completeDetach(_ record: ExtensionRecord) async -> ReconcileOutcome {
        do {
            try await stopEverything(record, entry: nil)
            try registry.modify(id: record.id) { $0.state = .detached; $0.pid = 0 }
            notes(record.id).append("detach completed by a new agent")
            return ReconcileOutcome(id: record.id, action: .detachCompleted, reason: "detach was committed before the agent stopped")
        } catch {
            notes(record.id).append("detach could not be completed: \(error)")
            return ReconcileOutcome(id: record.id, action: .failed, reason: "detach could not be completed: \(error)")
        }
    }

    /// Stops an extension the policy in force no longer allows and records why. It is never
    /// adopted or started again (in particular never with `--unsafe`).
    func refuse(_ record: ExtensionRecord, reason: String) async -> ReconcileOutcome {
        let text = Self.refusedByPolicy(reason)
        do {
            try await stopEverything(record, entry: nil)
        } catch {
            notes(record.id).append("stopping the refused extension failed: \(error)")
        }
        _ = try? registry.modify(id: record.id) {
            $0.state = .failed
            $0.pid = 0
            $0.lastError = text
        }
        notes(record.id).append("stopped at agent start: \(text)")
        logger.warning("extension refused by the current policy", metadata: ["id": "\(record.id)", "reason": "\(reason)"])
        return ReconcileOutcome(id: record.id, action: .refused, reason: text)
    }

    /// Pids whose command line names `scriptPath` (read from /proc).
    static func processes(runningScript scriptPath: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = Int32(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return argv.contains(scriptPath) ? pid : nil
        }
    }
}

extension ExtensionSupervisor {
    /// Forgets extensions detached longer than `retention` ago: their records and their
    /// directories (script, logs, notes). Until then `kenc show`/`kenc logs` still explain them.
    @discardableResult
    func purgeDetached(retention: TimeInterval) -> Int {
        let cutoff = Registry.nowUnixMs() - Int64(retention * 1000)
        guard let old = try? registry.list(includeDetached: true, states: [.detached]).filter({ $0.changedUnixMs < cutoff }) else {
            return 0
        }
        for record in old { try? FileManager.default.removeItem(atPath: configuration.extensionDirectory(id: record.id)) }
        let purged = (try? registry.purgeDetached(olderThanUnixMs: cutoff)) ?? 0
        if purged > 0 { logger.info("purged detached extensions", metadata: ["count": "\(purged)"]) }
        return purged
    }
}
