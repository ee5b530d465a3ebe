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
    /// The offline library's "close enough" similarity (0...1); nil: the file's, else 0.25.
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

        await AgentKernelFacts.ensure(agentSocket: settings.agentSocket, logger: logger)
        let kernel = KernelInfo.load()
        let dialect = InstalledBpftrace.dialect(executable: settings.bpftrace) ?? .v0_17
        logger.info("kernel \(kernel.release), bpftrace \(dialect), kernel facts loaded in \(kernel.timings)")

        // The environment's LLM settings win over the file's, which win over none (offline).
        let file = try KendConfigFile.load(path: settings.configFile)
        let maxAttempts = settings.maxAttempts ?? file.maxAttempts ?? 3
        let threshold = settings.libraryThreshold ?? file.libraryThreshold ?? 0.25
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

        let source: any CandidateSource = client.map { LLMCandidateSource(client: $0) }
            ?? LibrarySource(store: store, threshold: threshold)
        if client == nil {
            logger.notice("no LLM is configured (KEN_LLM_URL unset): answering from the example library")
        }
        // Contracts are built from this kernel once per release (seconds) and reused after.
        let contracts: ContractStore?
        do {
            contracts = try ContractStore.open(stateDirectory: settings.stateDirectory, kernel: { kernel })
            if let info = contracts?.info, info.rebuiltNow {
                logger.info("kernel contracts built for \(kernel.release) in \(String(format: "%.1f", info.buildSeconds)) s")
            }
        } catch {
            contracts = nil
            logger.error("kernel contracts unavailable, annotating without them: \(error)")
        }
        let log = AnnotationLog(stateDirectory: settings.stateDirectory)
        let annotator = contracts.map {
            ComprehensionAnnotator(engine: ComprehensionEngine(contracts: $0, llm: client, kernel: kernel, log: log))
        }
        let pinnedAnnotator = contracts.map {
            ComprehensionAnnotator(engine: ComprehensionEngine(contracts: $0, llm: nil, kernel: kernel, log: log))
        }
        var kinds: Set<ProbeContract.Kind> = [.tracepoint, .rawTracepoint]
        if kernel.catalogue.unavailableReason(.kprobe) == nil { kinds.insert(.function) }
        let probes: any ProbeSuggester = contracts.map { ContractProbes(store: $0, kinds: kinds) } ?? CatalogueProbes(kernel: kernel)
        let stages = PipelineStages(
            checker: FrontEndChecker(kernel: kernel, dialect: dialect),
            annotator: annotator,
            prover: VerifierProver(kernel: kernel),
            kernel: AgentGate(socketPath: settings.agentSocket),
            examples: StoreRetriever(store: store),
            probes: probes,
            bpftraceVersion: dialect.version.description,
            pinnedAnnotator: pinnedAnnotator)
        let engine = SynthesisEngine(
            stages: stages, source: source, model: llmConfiguration?.model ?? "",
            cache: SynthesisCache(directory: state.appendingPathComponent("cache")),
            tasks: TaskStore(directory: state.appendingPathComponent("tasks")),
            kernelRelease: kernel.release, corpusVersion: corpusVersion, defaultAttempts: maxAttempts,
            learn: { prompt, program in
                _ = try? await store.addLearned(prompt: prompt, program: program, tags: ["learned"])
            })

        let agentSocket = settings.agentSocket
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
            if let client = try? await AgentClient.connect(path: agentSocket, timeout: .seconds(1)) {
                var request = Ken_V1_AgentRequest()
                request.status = Ken_V1_AgentStatusRequest()
                if let answer = try? await client.call(request, timeout: .seconds(2)) {
                    reply.agentVersion = answer.statusReply.version
                }
                await client.close()
            }
            return reply
        }
        let applier = FleetApplier(engine: engine, agentSocket: settings.agentSocket)
        let server = try await RPCServer.start(endpoint: endpoint,
                                               handler: KendService(engine: engine, status: status, applier: applier, examples: store,
                                                                    access: file.access),
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
    static func ensure(agentSocket: String, logger: Logger) async {
        let readable = Tracefs.defaultRoots.contains { FileManager.default.isReadableFile(atPath: $0 + "/available_events") }
        guard !readable else { return }
        do {
            let client = try await AgentClient.connect(path: agentSocket, timeout: .seconds(5))
            _ = try await client.call(.with { $0.status = .init() }, timeout: .seconds(30))
            await client.close()
        } catch {
            logger.warning("tracefs is not readable and ken-agent could not be asked to publish it: \(error)")
        }
    }
}
