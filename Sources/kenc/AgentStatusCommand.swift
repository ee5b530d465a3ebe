import AgentCLI
import ArgumentParser
import Foundation
import KenProto

/// The agent socket option every agent subcommand shares.
struct AgentSocketOptions: ParsableArguments {
    @Option(name: .customLong("agent-socket"),
            help: ArgumentHelp("ken-agent's socket (env KEN_AGENT_SOCKET; default /run/ken/agent.sock).", valueName: "path"))
    var agentSocket: String?

    var calls: AgentCalls { AgentCalls(socket: AgentCalls.socketPath(option: agentSocket)) }
}

/// Runs an agent subcommand body: prints a failure on stderr and exits with its code.
func runAgentCommand(_ body: () async throws(AgentCLIError) -> Void) async throws {
    do {
        try await body()
    } catch {
        FileHandle.standardError.write(Data(error.rendered.utf8))
        throw ExitCode(error.exitCode.rawValue)
    }
}

/// Writes to stdout without buffering surprises when piped.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// `kenc agent-status [--json]`: the agent's version, kernel, bpftrace, counts, and who you are
/// to it.
struct AgentStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-status",
        abstract: "Show ken-agent's version, kernel, bpftrace and extension counts.")

    @OptionGroup var agent: AgentSocketOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await runAgentCommand { () throws(AgentCLIError) in
            let response = try await agent.calls.call { $0.status = Ken_V1_AgentStatusRequest() }
            emit(json ? AgentJSON.render(AgentJSON.object(response.statusReply)) : AgentFormatting.status(response.statusReply))
        }
    }
}
