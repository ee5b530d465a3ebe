import ArgumentParser
import Fleet
import Foundation

/// `kenc status`: versions, kernel and every extension, as one document.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show ken-agent, kend, the kernel and every extension (one JSON document with --json).",
        discussion: "Exit status: 0 when both daemons answered, 5 when either is unreachable (the document says which).")

    @Flag(help: "Print one JSON document, for fleet fact gathering.")
    var json = false

    @Option(help: "ken-agent's socket (env KEN_AGENT_SOCKET).")
    var agentSocket: String = ProcessInfo.processInfo.environment["KEN_AGENT_SOCKET"] ?? "/run/ken/agent.sock"

    @Option(help: "kend's socket (env KEN_SOCKET).")
    var kendSocket: String = ProcessInfo.processInfo.environment["KEN_SOCKET"] ?? "/run/ken/kend.sock"

    func run() async throws {
        let status = await FleetStatus.gather(agentSocket: agentSocket, kendSocket: kendSocket)
        print(json ? status.json() : status.text())
        if status.exitStatus != 0 { throw ExitCode(status.exitStatus) }
    }
}
