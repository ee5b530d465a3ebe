import ArgumentParser
import Foundation
import KenVersion

/// kenc: Ken's command line for people, admins and fleet tooling.
///
/// Every subcommand is thin: what it shows is computed in a library module (BpftraceSemantics,
/// SymbolicVerifier, AgentCore, KendCore, Contracts) that tests reach without a terminal.
@main
struct Kenc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kenc",
        abstract: "Kernel extensions written in plain English.",
        discussion: """
            kenc synth turns a prompt into a checked eBPF program, proven where it can be (through kend); check, fmt and \
            verify work on bpftrace files locally; attach, list, show, logs and detach talk to \
            ken-agent. Sockets: --kend-socket (env KEN_SOCKET, default /run/ken/kend.sock) and \
            --agent-socket (env KEN_AGENT_SOCKET, default /run/ken/agent.sock).
            Exit status: 0 success; 1 failure (no program passed, diagnostics, rejected); 2 usage; \
            3 not found; 4 permission denied; 5 daemon unreachable.
            """,
        version: KenVersion.current,
        subcommands: [
            SynthCommand.self,
            ApplyCommand.self,
            StatusCommand.self,
            ExamplesCommand.self,
            CheckCommand.self,
            FmtCommand.self,
            VerifyCommand.self,
            ContractsCommand.self,
            AttachCommand.self,
            ListCommand.self,
            ShowCommand.self,
            LogsCommand.self,
            DetachCommand.self,
            AgentStatusCommand.self,
        ])

    /// Runs like ArgumentParser's default, except that usage errors exit 2 (as getopt tools
    /// and kenc's documented conventions do), not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// Options every daemon-facing subcommand takes, accepted before the subcommand too
    /// (`kenc --json --agent-socket /run/ken/agent.sock list`): they are moved after it.
    static let globalFlags: Set<String> = ["--json"]
    static let globalOptions: Set<String> = ["--agent-socket", "--kend-socket"]

    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if globalFlags.contains(argument) || (globalOptions.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if globalOptions.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        // The subcommand (and a nested one, as in `examples search`) comes first, then the options.
        var rest = Array(arguments[index...])
        var position = 1
        if rest.first == "examples", rest.count > 1, !rest[1].hasPrefix("-") { position = 2 }
        rest.insert(contentsOf: leading, at: position)
        return rest
    }
}
