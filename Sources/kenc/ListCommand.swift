import AgentCLI
import ArgumentParser
import Foundation
import KenProto

/// `kenc list [--all] [--json]`: Ken's extensions (and with --all every BPF program in the
/// kernel, Ken's marked), like `bpftool prog list`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List Ken's extensions; with --all also every BPF program in the kernel.")

    @Flag(help: "Also list every BPF program loaded in the kernel.")
    var all = false

    @Flag(help: "Print JSON (an array of extensions; with --all an object with extensions and programs).")
    var json = false

    @OptionGroup var agent: AgentSocketOptions

    func run() async throws {
        try await runAgentCommand { () throws(AgentCLIError) in
            let all = self.all
            let response = try await agent.calls.call { $0.list = Ken_V1_ListRequest.with { $0.all = all } }
            if json {
                emit(AgentJSON.list(response.list, all: all))
            } else {
                emit(AgentFormatting.list(response.list, all: all, now: AgentFormatting.nowUnixMs(), userName: AgentFormatting.userName))
            }
        }
    }
}
