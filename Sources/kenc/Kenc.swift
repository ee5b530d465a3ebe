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
            kenc synth turns a prompt into a verified eBPF program (through kend); check, fmt and \
            verify work on bpftrace files locally; attach, list, show, logs and detach talk to \
            ken-agent. Sockets: --kend-socket (env KEN_SOCKET, default /run/ken/kend.sock) and \
            --agent-socket (env KEN_AGENT_SOCKET, default /run/ken/agent.sock).
            Exit status: 0 success; 1 failure (not verified, diagnostics, rejected); 2 usage; \
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
            var command = try parseAsRoot()
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
}
