import AgentCore
import ArgumentParser
import Dispatch
import Foundation
import KenRPC
import Logging
import Systemd

/// ken-agent: the privileged daemon that loads, attaches, tracks and detaches Ken's eBPF
/// extensions. Argument parsing and wiring only; the behaviour lives in AgentCore.
@main
struct KenAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ken-agent",
        abstract: "Load, attach, track and detach Ken's eBPF extensions (runs as root, in the foreground).",
        discussion: """
            Serves ken-agent's protocol on a Unix socket: the one passed by systemd (socket \
            activation, LISTEN_FDS) if any, otherwise --socket. Every extension is recorded in \
            <state-dir>/registry.db before the client is answered. On start, extensions that \
            should be attached are adopted or attached again. On SIGTERM/SIGINT the agent stops \
            serving; extensions stay attached unless the policy sets lifecycle.detach_on_stop.
            """,
        version: AgentConfiguration.version)

    @Option(name: .long, help: ArgumentHelp("Unix socket to listen on when not socket-activated.", valueName: "path"))
    var socket: String = AgentConfiguration.defaultSocketPath

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Directory for the registry, scripts and extension logs.", valueName: "dir"))
    var stateDirectory: String = "/var/lib/ken"

    @Option(name: .long, help: ArgumentHelp("Policy file (TOML); a missing file means the built-in defaults.", valueName: "file"))
    var config: String = AgentPolicy.defaultPath

    @Option(name: .long, help: ArgumentHelp("bpftrace binary (default: the first on PATH, /usr/bin, /usr/sbin).", valueName: "path"))
    var bpftrace: String?

    @Option(name: .customLong("pin-root"), help: ArgumentHelp("bpffs directory where object extensions pin their links.", valueName: "dir"))
    var pinRoot: String = "/sys/fs/bpf/ken"

    @Option(name: .customLong("kernel-facts"), help: ArgumentHelp("Where to publish tracepoint formats for unprivileged kend and kenc (tracefs is root-only); empty to skip.", valueName: "dir"))
    var kernelFacts: String = "/run/ken/tracing"

    @Flag(name: .long, help: "Log debug messages.")
    var verbose = false

    @Flag(name: .customLong("detach-all"), help: ArgumentHelp(
        "Detach every extension in the registry and exit, without serving (the package's prerm runs this on removal, with the agent stopped)."))
    var detachAll = false

    func run() async throws {
        let journal = Journal.isStderrConnected
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = journal ? JournalLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .info
            return handler
        }
        let logger = Logger(label: "ken-agent")

        let policy: AgentPolicy
        do {
            policy = try AgentPolicy.load(path: config)
        } catch {
            logger.critical("cannot use the policy file; fix it or move it away to use the defaults", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        var configuration = AgentConfiguration(stateDirectory: stateDirectory, policy: policy,
                                               bpftracePath: bpftrace ?? "bpftrace", pinRoot: pinRoot)

        if detachAll {
            let outcome = try await AgentServer.detachEverything(
                configuration: configuration, reason: "detached: ken-agent --detach-all (package removal)", logger: logger)
            for id in outcome.detached { logger.info("detached", metadata: ["id": "\(id)"]) }
            for failure in outcome.failed {
                logger.error("cannot detach", metadata: ["id": "\(failure.id)", "error": "\(failure.error)"])
            }
            if !outcome.failed.isEmpty { throw ExitCode.failure }
            return
        }

        // Take SIGTERM/SIGINT over before anything else so a stop during start-up is orderly.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])

        let endpoint: RPCEndpoint
        do {
            endpoint = try RPCEndpoint.activatedOr(path: socket)
        } catch {
            logger.critical("cannot use the activated socket", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        if case .path(let path) = endpoint {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
        }
        // Listen first: the facts take ~2 s to copy from tracefs, so they are published in the
        // background while the agent reconciles and serves. Status — the call kend makes to be
        // sure the facts exist before it reads them — waits for them (`kernelFactsPublished`).
        if !kernelFacts.isEmpty {
            let destination = kernelFacts
            let publication = Task.detached {
                do {
                    let published = try TracefsMirror.publish(to: destination)
                    logger.info("kernel facts published", metadata: [
                        "dir": "\(destination)", "tracepoints": "\(published.events)",
                        "seconds": "\(String(format: "%.2f", published.seconds))"])
                } catch {
                    logger.warning("kernel facts not published: unprivileged kend cannot resolve tracepoints",
                                   metadata: ["error": "\(error)"])
                }
            }
            configuration.kernelFactsPublished = { await publication.value }
        }
        _ = try? ServiceNotifier.notify(.status("reconciling extensions"))
        let server: AgentServer
        do {
            server = try await AgentServer.start(configuration: configuration, endpoint: endpoint, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            _ = try? ServiceNotifier.notify(.status("failed: \(error)"))
            throw ExitCode.failure
        }
        let restored = server.outcomes.filter(\.isRestored).count
        let failed = server.outcomes.filter { $0.action == .failed || $0.action == .refused }.count
        let summary = "serving \(server.socketPath); \(restored) extensions restored, \(failed) failed"
        logger.info("ready", metadata: ["socket": "\(server.socketPath)", "restored": "\(restored)", "failed": "\(failed)"])
        _ = try? ServiceNotifier.notify([.ready, .status(summary)])

        let watchdog = Task {
            guard let interval = try? ServiceNotifier.watchdogInterval() else { return }
            while !Task.isCancelled {
                _ = try? ServiceNotifier.notify(.watchdog)
                try? await Task.sleep(for: interval / 2)
            }
        }

        let signal = await signals.next()
        logger.info("stopping", metadata: ["signal": "\(signal)", "detach_on_stop": "\(policy.detachOnStop)"])
        _ = try? ServiceNotifier.notify([.stopping, .status("stopping")])
        watchdog.cancel()
        await server.shutdown()
        logger.info("stopped")
    }
}
