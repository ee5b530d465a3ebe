import AgentCLI
import ArgumentParser
import Foundation
import KenProto

/// `kenc logs ID [-f] [-n N]`: an extension's recent output and the agent's notes about it;
/// with -f keep printing new lines until interrupted.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print an extension's output (and the agent's notes about it); -f follows.")

    @Argument(help: ArgumentHelp("The extension's id (or its name with --name).", valueName: "id"))
    var id: String?

    @Option(help: "Select the extension by name instead of id.")
    var name: String?

    @Flag(name: .shortAndLong, help: "Keep printing new lines until interrupted.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: "Only the last N lines kept (0: all).")
    var tail: UInt32 = 0

    @OptionGroup var agent: AgentSocketOptions

    func validate() throws {
        if (id == nil) == (name == nil) { throw ValidationError("give either an ID or --name NAME") }
    }

    func run() async throws {
        try await runAgentCommand { () throws(AgentCLIError) in
            let (id, name, follow, tail) = (self.id ?? "", self.name ?? "", self.follow, self.tail)
            try await agent.calls.stream({
                $0.logs = Ken_V1_LogsRequest.with { $0.id = id; $0.name = name; $0.follow = follow; $0.tail = tail }
            }) { response in
                if case .log(let line)? = response.result { emit(AgentFormatting.logLine(line) + "\n") }
            }
        }
    }
}
