import ArgumentParser
import KenClient

/// `--agent-socket`: declared by every subcommand that talks to ken-agent and by `kenc` itself,
/// so it may come before or after the subcommand. ArgumentParser hands a value parsed for the
/// parent to a child's `@OptionGroup` of the same type, so no argv rewriting is needed.
struct AgentSocketOption: ParsableArguments {
    @Option(name: .customLong("agent-socket"),
            help: ArgumentHelp("ken-agent's socket (default: $KEN_AGENT_SOCKET, else /run/ken/agent.sock).", valueName: "path"))
    var path: String?

    var socket: String { AgentCalls.socketPath(option: path) }
    var calls: AgentCalls { AgentCalls(socket: socket) }
}

/// `--kend-socket`, the same way for kend.
struct KendSocketOption: ParsableArguments {
    @Option(name: .customLong("kend-socket"),
            help: ArgumentHelp("kend's socket (default: $KEN_SOCKET, else /run/ken/kend.sock).", valueName: "path"))
    var path: String?

    var socket: String { KendCalls.socketPath(option: path) }
    var calls: KendCalls { KendCalls(socket: socket) }
}

/// `-j`, `--json`, the same way.
struct JSONOption: ParsableArguments {
    @Flag(name: [.customShort("j"), .long], help: "Print JSON.")
    var json = false
}

/// Marks the subcommands that declare each shared group, so `kenc` can refuse one given to a
/// subcommand that would ignore it (`kenc fmt --json`).
protocol TakesJSON {}
protocol TalksToAgent {}
protocol TalksToKend {}

/// Runs a subcommand body: a `ClientError` is printed on stderr and becomes the exit status,
/// and the body's own outcome (`apply`'s changed/failed, `verify`'s verdict) becomes it too.
func runClient(_ body: () async throws(ClientError) -> KencExit) async throws {
    let outcome: KencExit
    do {
        outcome = try await body()
    } catch {
        Output.error(error.rendered)
        throw ExitCode(error.exit.status)
    }
    if outcome.status != 0 { throw ExitCode(outcome.status) }
}
