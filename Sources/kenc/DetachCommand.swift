import AgentCLI
import ArgumentParser
import Foundation
import KenProto

/// `kenc detach ID | --name NAME`: stop an extension and remove it from the kernel.
struct DetachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach an extension (by id, or by --name) and remove it from the kernel.")

    @Argument(help: ArgumentHelp("The extension's id.", valueName: "id"))
    var id: String?

    @Option(help: "Select the extension by name instead of id.")
    var name: String?

    @OptionGroup var agent: AgentSocketOptions

    func validate() throws {
        if (id == nil) == (name == nil) { throw ValidationError("give either an ID or --name NAME") }
    }

    func run() async throws {
        try await runAgentCommand { () throws(AgentCLIError) in
            let (id, name) = (self.id ?? "", self.name ?? "")
            let response = try await agent.calls.call { $0.detach = Ken_V1_DetachRequest.with { $0.id = id; $0.name = name } }
            let ext = response.detach.extension
            emit("detached \(ext.id) (\(ext.name))\n")
        }
    }
}
