import ArgumentParser
import Foundation
import KenClient
import KenVersion

/// kenc: Ken's command line for people, admins and fleet tooling.
///
/// Every subcommand is argument parsing and a call into `KenClient` (the daemons' calls, every
/// output format, exit statuses, file reading) or a local front-end library; tests reach all of
/// it without a terminal.
@main
struct Kenc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kenc",
        abstract: "Kernel extensions written in plain English.",
        discussion: """
            kenc synth turns a prompt into a checked eBPF program, proven where it can be (through kend); check, fmt and \
            verify work on bpftrace files locally; attach, list, show, logs and detach talk to \
            ken-agent. --agent-socket, --kend-socket and -j/--json may also come before the \
            subcommand.
            Exit status: 0 success; 1 failure (no program passed, diagnostics, rejected); 2 usage or \
            an unreadable file; 3 not found; 4 permission denied; 5 daemon unreachable \
            (verify and apply use their own, see their help).
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

    // Accepted before the subcommand: ArgumentParser passes these values to the subcommand's
    // @OptionGroup of the same type. Hidden here; each subcommand's help shows the ones it takes.
    @OptionGroup(visibility: .hidden) var agent: AgentSocketOption
    @OptionGroup(visibility: .hidden) var kend: KendSocketOption
    @OptionGroup(visibility: .hidden) var output: JSONOption

    /// Runs like ArgumentParser's default, except that usage errors exit 2 (as getopt tools and
    /// kenc's documented conventions do, not ArgumentParser's 64), a mistyped subcommand gets a
    /// suggestion, and a shared option given to a subcommand that would ignore it is refused.
    static func main() async {
        Output.prepare()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let error = CommandLineCheck.unknownSubcommand(in: arguments, known: subcommandNames) {
            usageError(error)
        }
        do {
            var command = try parseAsRoot(arguments)
            if let error = CommandLineCheck.ignoredSharedOption(in: arguments, for: command) {
                usageError(error)
            }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                usageError(fullMessage(for: error))
            }
            exit(withError: error)
        }
    }

    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
    }

    static func usageError(_ message: String) -> Never {
        Output.error(message)
        Foundation.exit(KencExit.usage.status)
    }
}

/// The checks `kenc` makes on its command line beyond what ArgumentParser does.
enum CommandLineCheck {
    /// Options shared through a parent group, and whether they take a value.
    static let shared: [(names: [String], takesValue: Bool, group: String)] = [
        (["--agent-socket"], true, "agent"), (["--kend-socket"], true, "kend"), (["-j", "--json"], false, "json"),
    ]

    /// `kenc lsit` → "unknown subcommand 'lsit'; did you mean 'list'?".
    static func unknownSubcommand(in arguments: [String], known: [String]) -> String? {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return nil }
            if argument.hasPrefix("-") {
                // Only the shared options may come first; anything else (--help, --version,
                // --generate-completion-script bash) is ArgumentParser's to judge.
                let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
                guard let option = shared.first(where: { $0.names.contains(name) }) else { return nil }
                index += option.takesValue && !argument.contains("=") ? 2 : 1
                continue
            }
            guard !known.contains(argument) else { return nil }
            var message = "kenc: error: unknown subcommand '\(argument)'"
            if let suggestion = Suggestion.closest(to: argument, in: known) {
                message += "; did you mean '\(suggestion)'?"
            }
            return message + "\nsee 'kenc --help' for the subcommands"
        }
        return nil
    }

    /// `kenc fmt --json x.bt`: the root's hidden groups accept the option, but fmt would ignore
    /// it; say so instead.
    static func ignoredSharedOption(in arguments: [String], for command: ParsableCommand) -> String? {
        let takes: [String: Bool] = [
            "agent": command is TalksToAgent, "kend": command is TalksToKend, "json": command is TakesJSON,
        ]
        let name = type(of: command).configuration.commandName ?? "this subcommand"
        for argument in arguments {
            if argument == "--" { break }
            let option = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if let entry = shared.first(where: { $0.names.contains(option) }), takes[entry.group] == false {
                return "kenc: error: \(name) does not take \(option)\nsee 'kenc \(name) --help'"
            }
        }
        return nil
    }
}
