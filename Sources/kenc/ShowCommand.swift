import AgentCLI
import ArgumentParser
import Foundation
import KenProto

/// `kenc show ID [--json]`: everything the agent records about one extension.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one extension: state, programs, memory, errors and its program text.")

    @Argument(help: ArgumentHelp("The extension's id (or its name with --name).", valueName: "id"))
    var id: String?

    @Option(help: "Select the extension by name instead of id.")
    var name: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var agent: AgentSocketOptions

    func validate() throws {
        if (id == nil) == (name == nil) { throw ValidationError("give either an ID or --name NAME") }
    }

    func run() async throws {
        try await runAgentCommand { () throws(AgentCLIError) in
            let (id, name) = (self.id ?? "", self.name ?? "")
            let response = try await agent.calls.call { $0.get = Ken_V1_GetRequest.with { $0.id = id; $0.name = name } }
            let ext = response.get.extension
            emit(json ? AgentJSON.render(AgentJSON.object(ext))
                      : AgentFormatting.show(ext, now: AgentFormatting.nowUnixMs(), userName: AgentFormatting.userName))
        }
    }
}
