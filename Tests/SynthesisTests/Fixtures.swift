import Contracts
import ExampleStore
import Foundation
import KendCore
import KernelInfo
import LLM
import Pipeline
import Synthesis
import TestSupport
import XCTest

/// Shared set-up: real kernel facts (tracefs, BTF), the shipped corpus, temp state dirs.
enum Fixtures {
    /// Kernel facts, loaded once for the whole test process.
    static let kernel: KernelInfo = KernelInfo.load()

    static func requireTracefs() throws -> KernelInfo {
        guard kernel.tracefs != nil else {
            throw XCTSkip("tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing): the front end cannot resolve tracepoints")
        }
        return kernel
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ken-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// This kernel's contracts store, built once for the whole target (the open store keeps
    /// reading its unlinked file; nothing is left in /tmp).
    static let sharedContracts: Result<ContractStore, Error> = {
        let directory = NSTemporaryDirectory() + "ken-synthesis-contracts-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return Result { try ContractStore.open(stateDirectory: directory, kernel: { KernelInfo.shared() }) }
    }()

    /// The contracts store, or a skip when this kernel has no BTF to build it from.
    static func contracts() throws -> ContractStore {
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/btf/vmlinux") else {
            throw XCTSkip("no kernel BTF: the contracts store cannot be built")
        }
        return try sharedContracts.get()
    }

    static func store(state: URL) throws -> ExampleStore {
        try ExampleStore(ExampleStore.Configuration(
            corpusDirectory: repositoryRoot.appendingPathComponent("corpus/examples"), toolDirectories: [],
            stateDirectory: state))
    }

    static func llm(_ server: ScriptedLLMServer) throws -> LLMClient {
        var configuration = LLMConfiguration(baseURL: server.baseURL, model: "scripted-model")
        configuration.maxRetries = 0
        configuration.totalTimeout = 10
        return try LLMClient(configuration: configuration)
    }

    static func engine(source: any CandidateSource, kernel: KernelInfo, state: URL, store: ExampleStore?,
                       model: String = "scripted-model", gate: (any KernelGate)? = nil) -> SynthesisEngine {
        let loop = SynthesisLoop<TypedProgram>(
            source: source,
            frontEnd: FrontEndChecker(kernel: kernel, dialect: .v0_17),
            prover: VerifierProver(kernel: kernel),
            kernel: gate,
            examples: store.map { StoreRetriever(store: $0) },
            probes: CatalogueProbes(kernel: kernel))
        return SynthesisEngine(pipeline: SynthesisPipeline(loop: loop, model: model),
                               cache: SynthesisCache(directory: state.appendingPathComponent("cache")),
                               tasks: TaskStore(directory: state.appendingPathComponent("tasks")),
                               kernelRelease: kernel.release, corpusVersion: "test")
    }

    /// A reply holding `program` in a bpftrace block, with prose around it as models write.
    static func reply(_ program: String) -> String {
        "Here is a program that does that:\n\n```bpftrace\n\(program)\n```\n\nIt prints one line per event."
    }

    /// The text of every user message of a recorded chat request.
    static func userText(_ request: ScriptedLLMServer.RecordedRequest) -> String {
        guard let messages = request.jsonObject()?["messages"] as? [[String: Any]] else { return "" }
        return messages.filter { ($0["role"] as? String) == "user" }.compactMap { $0["content"] as? String }
            .joined(separator: "\n")
    }
}

/// Collects events from the engine's callback.
final class EventLog: @unchecked Sendable {
    // Guarded by `lock`: the engine calls back from its task.
    private let lock = NSLock()
    private var stored: [Ken_V1_SynthesisEventSnapshot] = []

    func append(_ snapshot: Ken_V1_SynthesisEventSnapshot) {
        lock.lock(); defer { lock.unlock() }
        stored.append(snapshot)
    }

    var events: [Ken_V1_SynthesisEventSnapshot] {
        lock.lock(); defer { lock.unlock() }
        return stored
    }
}

struct Ken_V1_SynthesisEventSnapshot: Sendable {
    var attempt: UInt32
    var stage: String
    var message: String
}
