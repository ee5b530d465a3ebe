import BPF
import Foundation
import KenProto
import KenRPC
import KernelInfo
import KernelLoader
import NativeABI
import NativeRuntime
import Registry

/// Native extensions: a BPF object the agent generated from the script, loaded, attached and
/// pinned under `<pinRoot>/<id>/` by `NativeExtension`, whose output runtime appends the
/// extension's output to `<extension dir>/stdout.log` as bpftrace's `-f json` lines — so
/// `kenc logs` reads it exactly as it reads a bpftrace child's. No process runs per extension.
extension ExtensionSupervisor {
    // MARK: - Start

    /// Loads and attaches a native extension from its artifact (given, or the stored one) and
    /// commits the outcome, as `startScript` does for a bpftrace child.
    func startNative(_ record: ExtensionRecord, artifact given: NativeArtifact? = nil, restarts: UInt32) async throws -> ExtensionRecord {
        let artifact: NativeArtifact
        if let given {
            artifact = given
        } else if let stored = try registry.nativeArtifact(id: record.id) {
            artifact = stored
        } else {
            try markFailed(record.id, error: "the native artifact is missing from the registry")
            throw RPCStatusError(.internal, "extension \(record.id) is native but its artifact is missing")
        }
        let directory = configuration.extensionDirectory(id: record.id)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let native: NativeExtension
        do {
            native = try NativeExtension.start(artifact, id: record.id, pinRoot: configuration.pinRoot,
                                               outputDirectory: directory, logLimitBytes: configuration.policy.logMaxBytes,
                                               onExit: { [self] id in nativeExited(id) })
        } catch {
            let summary = Self.firstLine(error.description)
            try markFailed(record.id, error: error.description)
            notes(record.id).append("attach failed: \(summary)")
            throw RPCStatusError(.failedPrecondition, summary, detail: Self.detail(of: error),
                                 hint: Self.verifierHint(error))
        }
        running.withLock { $0[record.id] = Running(native: native) }
        let attached: ExtensionRecord
        do {
            attached = try recordNative(record.id, native, restarts: restarts)
        } catch {
            running.withLock { $0[record.id]?.stopping = true }
            try? native.stop()
            running.withLock { _ = $0.removeValue(forKey: record.id) }
            throw RPCStatusError(.internal, "attached, but the registry could not record it (\(error)); detached again")
        }
        notes(record.id).append("attached natively: programs \(native.programIDs.map(String.init).joined(separator: ",")), links pinned in \(configuration.pinDirectory(id: record.id))")
        // exit() may have run before the record said attached (BEGIN { exit(); }): finish it now.
        if exitedNatively.withLock({ $0.contains(record.id) }) { await completeNativeExit(record.id) }
        return (try? registry.get(id: record.id, withObject: false)) ?? attached
    }

    @discardableResult
    func recordNative(_ id: String, _ native: NativeExtension, restarts: UInt32? = nil) throws -> ExtensionRecord {
        try registry.modify(id: id) {
            $0.state = .attached
            $0.pid = 0
            $0.progIDs = native.programIDs
            $0.linkIDs = native.linkIDs
            $0.pinDir = configuration.pinDirectory(id: id)
            if let restarts { $0.restarts = restarts }
            $0.lastError = ""
        }
    }

    static func detail(of error: NativeRuntimeError) -> String {
        if case let .rejected(_, log, libbpf) = error { return log.isEmpty ? libbpf : log }
        return error.description
    }

    static func verifierHint(_ error: NativeRuntimeError) -> String {
        if case .rejected = error { return "the detail holds the kernel verifier's log; --backend bpftrace runs it on bpftrace instead" }
        return ""
    }

    // MARK: - exit()

    /// The runtime's `onExit`: the program called `exit()`, END ran and the maps were printed.
    /// The extension ends detached, with a note; its output stays in `kenc logs`.
    func nativeExited(_ id: String) {
        exitedNatively.withLock { _ = $0.insert(id) }
        Task { await completeNativeExit(id) }
    }

    /// Records a native `exit()` once the extension's start has been committed (the start calls
    /// this again if `exit()` came first). Runs once per extension.
    func completeNativeExit(_ id: String) async {
        guard let record = try? registry.get(id: id, withObject: false), record.state == .attached else { return }
        let native = running.withLock { table -> NativeExtension? in
            guard let entry = table[id], !entry.stopping, let native = entry.native else { return nil }
            table.removeValue(forKey: id)
            return native
        }
        guard let native else { return }
        exitedNatively.withLock { _ = $0.remove(id) }
        // The runtime has detached the probes; stop() releases the rest and removes the pins.
        do { try native.stop() } catch { notes(id).append("after exit(): \(error)") }
        NativeExtension.removePins(id: id, pinRoot: configuration.pinRoot)
        // The note first: whoever sees the record detached finds the reason already written.
        notes(id).append("detached: the program called exit()")
        _ = try? registry.modify(id: id) {
            $0.state = .detached
            $0.pid = 0
        }
        logger.info("native extension exited", metadata: ["id": "\(id)"])
    }

    // MARK: - Stop

    /// Stops a native extension: the live one, or — when this agent does not hold it (detach-all
    /// from the package's prerm, a detach completed after a restart) — the one its pins hold,
    /// adopted for the purpose, so END still runs and the maps are printed. Whatever is left
    /// pinned is removed in the end.
    func stopNative(_ record: ExtensionRecord, native held: NativeExtension?) throws {
        var native = held
        if native == nil, let plan = (try? registry.nativeArtifact(id: record.id))??.plan {
            native = try? NativeExtension.adopt(plan: plan, id: record.id, pinRoot: configuration.pinRoot,
                                                outputDirectory: configuration.extensionDirectory(id: record.id),
                                                logLimitBytes: configuration.policy.logMaxBytes, onExit: { _ in })
        }
        if let native {
            do {
                try native.stop()
                notes(record.id).append("stopped: END run, maps printed, pins removed")
            } catch {
                notes(record.id).append("stopping failed (\(error)); removing its pins")
            }
        }
        NativeExtension.removePins(id: record.id, pinRoot: configuration.pinRoot)
    }

    /// A running native extension's kernel memory: its programs and every map they use (the
    /// ring buffer included), as bpftool reports memlock. Nil when this agent runs no native
    /// extension with that id.
    func nativeMemlock(id: String) -> UInt64? {
        guard let native = running.withLock({ $0[id]?.native }) else { return nil }
        return native.kernelMemoryBytes
    }

    // MARK: - Verify only

    /// A true dry run: every program through the kernel verifier, then unloaded. Nothing is
    /// attached or pinned, BEGIN never runs, nothing is printed.
    func verifyNative(_ artifact: NativeArtifact) -> Ken_V1_VerifyOnlyReply {
        do {
            let programs = try NativeExtension.verifyOnly(artifact)
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = true
                $0.programs = programs.map { "\($0.name) (\($0.typeName), \($0.translatedBytes) bytes translated)" }
                $0.backend = .native
            }
        } catch {
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = false
                let detail = Self.detail(of: error)
                $0.log = detail == error.description ? detail : error.description + "\n" + detail
                $0.backend = .native
            }
        }
    }

    // MARK: - Reconcile

    /// At agent start: adopt the pinned extension; with no pins (a reboot) start it again from
    /// the stored artifact, regenerated when the running kernel release differs from the one it
    /// was built for (and on bpftrace, with the reason, when it no longer compiles natively).
    func reconcileNative(_ record: ExtensionRecord, unsafe: Bool) async -> ReconcileOutcome {
        let directory = configuration.extensionDirectory(id: record.id)
        let stored: NativeArtifact?
        do {
            stored = try registry.nativeArtifact(id: record.id)
        } catch {
            return failReconcile(record, "the stored native artifact cannot be read: \(error)")
        }
        guard var artifact = stored else {
            return failReconcile(record, "the native artifact is missing from the registry")
        }
        var why: String
        do {
            let native = try NativeExtension.adopt(plan: artifact.plan, id: record.id, pinRoot: configuration.pinRoot,
                                                   outputDirectory: directory, logLimitBytes: configuration.policy.logMaxBytes,
                                                   onExit: { [self] id in nativeExited(id) })
            running.withLock { $0[record.id] = Running(native: native) }
            do {
                try recordNative(record.id, native)
            } catch {
                return ReconcileOutcome(id: record.id, action: .failed, reason: "adopted, but the registry could not record it: \(error)")
            }
            notes(record.id).append("adopted by a new agent from its pins")
            if exitedNatively.withLock({ $0.contains(record.id) }) { await completeNativeExit(record.id) }
            return ReconcileOutcome(id: record.id, action: .adoptedPins, reason: "native programs pinned in \(configuration.pinDirectory(id: record.id))")
        } catch {
            why = "\(error)"
        }
        // Not adoptable: whatever is left pinned goes, and the extension starts again.
        NativeExtension.removePins(id: record.id, pinRoot: configuration.pinRoot)
        let release = KernelInfo.runningRelease()
        if artifact.kernelRelease != release {
            notes(record.id).append("built for kernel \(artifact.kernelRelease), running \(release): generating it again")
            switch builder.compile(record.programText) {
            case let .native(fresh):
                artifact = fresh
                do { try registry.setNativeArtifact(id: record.id, fresh) } catch {
                    return failReconcile(record, "regenerated for \(release), but the registry could not keep it: \(error)")
                }
            case let .bpftrace(reason, note):
                if let note { notes(record.id).append(note) }
                notes(record.id).append("no longer compiles natively (\(reason)); running on bpftrace")
                guard let moved = try? registry.modify(id: record.id, { $0.backend = .bpftrace; $0.backendReason = reason }) else {
                    return failReconcile(record, "cannot record the move to bpftrace")
                }
                do {
                    _ = try await startScript(moved, unsafe: unsafe, restarts: record.restarts + 1)
                    return ReconcileOutcome(id: record.id, action: .restarted, reason: "\(why); on bpftrace now: \(reason)")
                } catch {
                    return ReconcileOutcome(id: record.id, action: .failed, reason: "\(why); starting on bpftrace failed: \(error)")
                }
            }
            why += "; regenerated for kernel \(release)"
        }
        return await startAgain(record, why: why) {
            _ = try await self.startNative(record, artifact: artifact, restarts: record.restarts + 1)
        }
    }

    private func failReconcile(_ record: ExtensionRecord, _ reason: String) -> ReconcileOutcome {
        _ = try? registry.modify(id: record.id) { $0.state = .failed; $0.pid = 0; $0.lastError = reason }
        notes(record.id).append(reason)
        return ReconcileOutcome(id: record.id, action: .failed, reason: reason)
    }
}
