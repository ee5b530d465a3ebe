import BpftraceSyntax
import Comprehension
import Contracts
import Digest
import ExampleStore
import Foundation
import KenProto
import KenVersion
import KenRPC
import KernelInfo
import LLM
import Logging
import Pipeline
import Synthesis
import Systemd

/// kend's settings, from its command line (and the environment for the LLM).
public struct KendSettings: Sendable {
    public var stateDirectory: String
    public var agentSocket: String
    public var configFile: String
    public var corpusDirectory: String
    public var bpftrace: String
    /// nil: the settings file's, else 3.
    public var maxAttempts: Int?
    /// The offline library's word-similarity floor among examples that do the task (0...1); nil: the
    /// file's, else `LibraryMatcher.defaultThreshold` (calibrated, docs/evaluation.md).
    public var libraryThreshold: Double?
    /// Fleet manifests to watch and apply on change (nil: the file's, else no watching).
    public var manifestDirectory: String?
    /// nil: the file's, else 5 s.
    public var watchInterval: Duration?
    /// Whether the watcher prunes extensions whose manifest was removed (nil: the file's, else yes).
    public var watchPrunes: Bool?

    public init(stateDirectory: String, agentSocket: String, configFile: String, corpusDirectory: String,
                bpftrace: String, maxAttempts: Int? = nil, libraryThreshold: Double? = nil,
                manifestDirectory: String? = nil, watchInterval: Duration? = nil, watchPrunes: Bool? = nil) {
        self.manifestDirectory = manifestDirectory
        self.watchInterval = watchInterval
        self.watchPrunes = watchPrunes
        self.stateDirectory = stateDirectory
        self.agentSocket = agentSocket
        self.configFile = configFile
        self.corpusDirectory = corpusDirectory
        self.bpftrace = bpftrace
        self.maxAttempts = maxAttempts
        self.libraryThreshold = libraryThreshold
    }
}

/// A running kend: the pipeline wired from the settings, served on a socket.
public final class KendDaemon: Sendable {
    public let server: RPCServer<KendService>
    public let engine: SynthesisEngine
    private let watcher: ManifestWatcher?
    private let logger: Logger

    private init(server: RPCServer<KendService>, engine: SynthesisEngine, watcher: ManifestWatcher?, logger: Logger) {
        self.server = server
        self.engine = engine
        self.watcher = watcher
        self.logger = logger
    }

    /// Wires the pipeline and starts serving. Tells systemd READY=1 once the socket accepts.
    public static func start(settings: KendSettings, endpoint: RPCEndpoint, logger: Logger) async throws -> KendDaemon {
        let started = Date()
        let state = URL(fileURLWithPath: settings.stateDirectory)
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)

        await AgentKernelFacts.ensure(agent: AgentEndpoint(socketPath: settings.agentSocket), logger: logger)
        let kernel = KernelInfo.load()
        let dialect = InstalledBpftrace.dialect(executable: settings.bpftrace) ?? .v0_17
        logger.info("kernel \(kernel.release), bpftrace \(dialect), kernel facts loaded in \(kernel.timings)")

        // The environment's LLM settings win over the file's, which win over none (offline).
        let file = try KendConfigFile.load(path: settings.configFile)
        let maxAttempts = settings.maxAttempts ?? file.maxAttempts ?? 3
        let threshold = settings.libraryThreshold ?? file.libraryThreshold ?? LibraryMatcher.defaultThreshold
        let manifestDirectory = settings.manifestDirectory ?? file.manifests
        let watchInterval = settings.watchInterval ?? file.watchInterval.map { .milliseconds(Int64($0 * 1000)) } ?? .seconds(5)
        let watchPrunes = settings.watchPrunes ?? file.prune ?? true
        let llmConfiguration = try LLMConfiguration.fromEnvironment() ?? file.llm
        let client = try llmConfiguration.map { try LLMClient(configuration: $0) }
        let embedder = client.flatMap { LLMEmbedder(client: $0) }
        let store = try ExampleStore(ExampleStore.Configuration(
            corpusDirectory: corpusExamples(settings.corpusDirectory),
            stateDirectory: state.appendingPathComponent("examples"), embedder: embedder))
        let corpusVersion = SHA256.hex(await store.all().filter { $0.origin != .learned }
            .map { "\($0.id)\u{0}\($0.program)" }.joined(separator: "\u{1}"))

        if client == nil {
            logger.notice("no LLM is configured (KEN_LLM_URL unset): answering from the example library")
        }
        // Contracts are built from this kernel once per release (seconds) and reused after; in
        // the background, so the socket answers at once (see BackgroundContracts).
        let contracts = BackgroundContracts(stateDirectory: settings.stateDirectory, kernel: kernel, logger: logger)
        let agent = AgentEndpoint(socketPath: settings.agentSocket)
        let pipeline = try SynthesisPipeline.assemble(PipelineConfiguration(
            kernel: kernel, dialect: dialect, llm: client, libraryThreshold: threshold, examples: store,
            contracts: contracts.supply, annotationLog: AnnotationLog(stateDirectory: settings.stateDirectory),
            agent: agent))
        let engine = SynthesisEngine(
            pipeline: pipeline,
            cache: SynthesisCache(directory: state.appendingPathComponent("cache")),
            tasks: TaskStore(directory: state.appendingPathComponent("tasks")),
            kernelRelease: kernel.release, corpusVersion: corpusVersion, defaultAttempts: maxAttempts,
            requireProof: file.requireProof ?? false,
            learn: { prompt, program in
                _ = try? await store.addLearned(prompt: prompt, program: program, tags: ["learned"])
            })

        let endpointText = llmConfiguration?.baseURL ?? ""
        let model = llmConfiguration?.model ?? ""
        let release = kernel.release
        let status: @Sendable () async -> Ken_V1_KendStatusReply = {
            var reply = Ken_V1_KendStatusReply()
            reply.version = KenVersion.current
            reply.kernelRelease = release
            reply.llmEndpoint = endpointText
            reply.llmModel = model
            reply.examples = UInt32(clamping: await store.all().count)
            reply.uptimeSeconds = Date().timeIntervalSince(started)
            let quick = AgentEndpoint(socketPath: agent.socketPath, connectTimeout: .seconds(1))
            if let answer = try? await quick.call(.with { $0.status = .init() }, timeout: .seconds(2)) {
                reply.agentVersion = answer.statusReply.version
            }
            return reply
        }
        let applier = FleetApplier(engine: engine, agent: agent)
        let server = try await RPCServer.start(endpoint: endpoint,
                                               handler: KendService(engine: engine, status: status, applier: applier, examples: store,
                                                                    access: file.access,
                                                                    prepare: { await contracts.waitForStore(progress: $0) }),
                                               logger: logger)
        let watcher = manifestDirectory.map {
            ManifestWatcher(directory: $0, interval: watchInterval, prune: watchPrunes,
                            applier: applier, logger: logger)
        }
        watcher?.start()
        _ = try? ServiceNotifier.notify([.ready, .status("serving \(server.path); \(client == nil ? "offline library" : "LLM \(model)")")])
        logger.info("kend serving \(server.path)")
        return KendDaemon(server: server, engine: engine, watcher: watcher, logger: logger)
    }

    public func stop() async {
        _ = try? ServiceNotifier.notify(.stopping)
        watcher?.stop()
        await server.shutdown(gracePeriod: .seconds(5))
    }

    /// `corpus/` (with `examples/` inside) or the examples folder itself.
    static func corpusExamples(_ path: String) -> URL? {
        let base = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        let nested = base.appendingPathComponent("examples")
        if FileManager.default.fileExists(atPath: nested.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return nested
        }
        if FileManager.default.fileExists(atPath: base.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return base
        }
        return ExampleStore.locateCorpus()
    }
}


/// tracefs is root-only; kend runs as `ken` and reads the copy ken-agent publishes
/// (`/run/ken/tracing`) when it starts. Under socket activation the agent may not have run
/// yet, so kend asks it for Status once — which starts it — before loading kernel facts.
enum AgentKernelFacts {
    static func ensure(agent: AgentEndpoint, logger: Logger) async {
        let readable = Tracefs.defaultRoots.contains { FileManager.default.isReadableFile(atPath: $0 + "/available_events") }
        guard !readable else { return }
        do {
            _ = try await agent.call(.with { $0.status = .init() }, timeout: .seconds(30))
        } catch {
            logger.warning("tracefs is not readable and ken-agent could not be asked to publish it: \(error)")
        }
    }
}
