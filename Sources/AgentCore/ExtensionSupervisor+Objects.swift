import Foundation
import KenProto
import KenRPC
import KernelLoader
import Registry

extension ExtensionSupervisor {
    var objectLoader: ObjectLoader { ObjectLoader(pinRoot: configuration.pinRoot) }

    /// Loads, attaches and pins an object extension, committing the outcome.
    func startObject(_ record: ExtensionRecord) async throws -> ExtensionRecord {
        let bytes: [UInt8]
        if record.object.isEmpty {
            bytes = (try registry.get(id: record.id, withObject: true))?.object ?? []
        } else {
            bytes = record.object
        }
        let loaded: LoadedObject
        do {
            loaded = try objectLoader.loadAndAttach(elf: bytes, extensionID: record.id)
        } catch let error as ObjectLoaderError {
            let summary = Self.firstLine(error.description)
            try registry.modify(id: record.id) {
                $0.state = .failed
                $0.lastError = error.description
            }
            notes(record.id).append("attach failed: \(summary)")
            let detail = error.verifierLog.isEmpty ? error.description : error.verifierLog
            throw RPCStatusError(.failedPrecondition, summary, detail: detail,
                                 hint: error.verifierLog.isEmpty ? "" : "the detail holds the kernel verifier's log")
        }
        return try recordLoaded(record.id, loaded, note: "attached")
    }

    func recordLoaded(_ id: String, _ loaded: LoadedObject, note: String) throws -> ExtensionRecord {
        running.withLock { $0[id] = Running(object: loaded) }
        let attached = try registry.modify(id: id) {
            $0.state = .attached
            $0.progIDs = loaded.programIDs
            $0.linkIDs = loaded.linkIDs
            $0.pinDir = loaded.pinDirectory
            $0.probes = loaded.programs.map { $0.sectionName.isEmpty ? $0.name : $0.sectionName }
            $0.lastError = ""
        }
        notes(id).append("\(note): programs \(loaded.programIDs.map(String.init).joined(separator: ",")), links pinned in \(loaded.pinDirectory)")
        return attached
    }

    func detachObject(_ record: ExtensionRecord, loaded: LoadedObject?) throws {
        do {
            try objectLoader.detach(extensionID: record.id)
            notes(record.id).append("unpinned \(configuration.pinDirectory(id: record.id))")
        } catch {
            throw RPCStatusError(.internal, "cannot unpin the extension's links: \(error)")
        }
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? Substring(text))
    }

    // MARK: - Verify only

    func verifyObject(_ bytes: [UInt8]) async throws -> Ken_V1_VerifyOnlyReply {
        do {
            let result = try objectLoader.verifyOnly(elf: bytes)
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = true
                $0.programs = result.programs.map { "\($0.name) (\($0.typeName), \($0.verifiedInstructions) insns verified)" }
            }
        } catch let error as ObjectLoaderError {
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = false
                $0.log = error.verifierLog.isEmpty ? error.description : error.description + "\n" + error.verifierLog
            }
        }
    }

    /// Where verify-only children keep their script and logs while they run.
    var verifyDirectory: String { (configuration.stateDirectory as NSString).appendingPathComponent("verify") }

    /// The runner for verify-only: limits.verify_seconds of wall clock, capped memory and CPU,
    /// and the child dies with the agent.
    func verifyRunner(unsafe: Bool) -> BpftraceRunner {
        let policy = configuration.policy
        return BpftraceRunner(configuration: BpftraceConfiguration(
            executablePath: configuration.bpftracePath.contains("/") ? configuration.bpftracePath : nil,
            attachTimeout: .seconds(policy.verifySeconds),
            extraArguments: unsafe ? ["--unsafe"] : [],
            logLimitBytes: policy.logMaxBytes,
            limits: ChildLimits(addressSpaceBytes: policy.childMemoryBytes, cpuSeconds: policy.verifySeconds + 10,
                                diesWithAgent: true)))
    }

    /// Kills verify-only children an earlier agent left behind and removes their directories.
    @discardableResult
    func removeStrayVerifiers() -> [Int32] {
        let killed = BpftraceRunner.killStrays(under: verifyDirectory)
        if !killed.isEmpty {
            logger.warning("killed stray verify-only bpftrace processes", metadata: ["pids": "\(killed)"])
        }
        try? FileManager.default.removeItem(atPath: verifyDirectory)
        return killed
    }

    func verifyScript(_ text: String, unsafe: Bool) async throws -> Ken_V1_VerifyOnlyReply {
        let directory = (verifyDirectory as NSString).appendingPathComponent(Registry.randomID())
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let result = try await verifyRunner(unsafe: unsafe).verify(script: text, directory: directory)
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = true
                $0.log = result.output
                $0.programs = result.programs.map { "\($0.name) (\($0.typeName))" }
            }
        } catch let error as BpftraceError {
            if case .executableNotFound = error {
                throw RPCStatusError(.failedPrecondition, error.description, hint: Self.hint(for: error))
            }
            return Ken_V1_VerifyOnlyReply.with {
                $0.accepted = false
                $0.log = error.output.isEmpty ? error.description : error.output
            }
        }
    }
}
