import ArgumentParser
import Foundation
import KendCore
import KenRPC
import Logging
import Systemd

/// kend: the unprivileged daemon that turns English prompts into checked (proven where possible) eBPF extensions.
@main
struct Kend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kend",
        abstract: "Ken's synthesis daemon: English prompts to checked (proven where possible), attached eBPF extensions.",
        discussion: """
            Serves kenc on a Unix socket (the systemd-activated one, or --socket) and talks to \
            ken-agent on --agent-socket. With no LLM configured it answers from its \
            example library and says so. LLM settings come from --config or the environment: \
            KEN_LLM_URL (base URL ending in /v1), KEN_LLM_MODEL, KEN_LLM_API_KEY_FILE (the key is \
            read from a file or the systemd credential llm-api-key, never from the command line).
            """)

    @Option(help: "Socket to serve when not socket-activated.")
    var socket = "/run/ken/kend.sock"

    @Option(help: "ken-agent's socket.")
    var agentSocket = "/run/ken/agent.sock"

    @Option(help: "Where kend keeps its caches, tasks, learned examples and contracts.")
    var stateDir = "/var/lib/kend"

    @Option(help: "kend's settings file (TOML); missing is fine.")
    var config = "/etc/ken/kend.toml"

    @Option(help: "The shipped example corpus directory.")
    var corpus = "/usr/share/ken/corpus"

    @Option(help: "The bpftrace binary whose version decides the dialect.")
    var bpftrace = "bpftrace"

    @Option(help: "Synthesis attempts per task when the client does not say (default: the file's, else 3).")
    var maxAttempts: Int?

    @Option(help: "Watch this directory of fleet manifests (*.toml) and apply it whenever it changes.")
    var manifests: String?

    @Option(help: "How often to look for manifest changes, in seconds (default: the file's, else 5).")
    var watchInterval: Double?

    @Flag(help: "When watching, do not detach extensions whose manifest was removed.")
    var noPrune = false

    mutating func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "kend")
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        let settings = KendSettings(stateDirectory: stateDir, agentSocket: agentSocket, configFile: config,
                                    corpusDirectory: corpus, bpftrace: bpftrace, maxAttempts: maxAttempts,
                                    manifestDirectory: manifests,
                                    watchInterval: watchInterval.map { .milliseconds(Int64(max(0.5, $0) * 1000)) },
                                    watchPrunes: noPrune ? false : nil)
        let daemon: KendDaemon
        do {
            daemon = try await KendDaemon.start(settings: settings, endpoint: try RPCEndpoint.activatedOr(path: socket),
                                                logger: logger)
        } catch {
            logger.error("kend could not start: \(error)")
            throw ExitCode(1)
        }
        let signal = await signals.next()
        logger.info("signal \(signal): stopping")
        await daemon.stop()
    }
}
