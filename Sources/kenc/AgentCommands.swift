import ArgumentParser
import BpftraceSemantics
import Foundation
import KenClient
import KenProto
import KernelInfo

/// Completion candidates for an extension argument: the ids and names `kenc list` shows.
let extensionCompletion = CompletionKind.shellCommand("kenc list --completion-words 2>/dev/null")

/// `kenc attach FILE [--name NAME]`: send a bpftrace script or a compiled BPF object to the
/// agent; prints the new extension's id (so `ID=$(kenc attach x.bt)` works).
struct AttachCommand: AsyncParsableCommand, TakesJSON, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach a bpftrace script (.bt) or a BPF object (.o) through ken-agent; prints its id.")

    @Argument(help: ArgumentHelp("The .bt script or .o object.", valueName: "file"), completion: .file(extensions: ["bt", "o"]))
    var file: String

    @Option(help: "A name for the extension, unique among attached ones (default: its id).")
    var name: String?

    @Option(help: ArgumentHelp("What to do when it dies: no, on-failure or always (default: the agent's policy).", valueName: "policy"))
    var restart: RestartPolicy?

    @Option(help: ArgumentHelp("What runs a script: native (Ken's own BPF object, no bpftrace process) or bpftrace (default: native, falling back to bpftrace for what it does not support, with the reason).", valueName: "backend"))
    var backend: ScriptBackend?

    @Flag(name: [.customLong("dry-run"), .customLong("verify-only")],
          help: "Only pass it through the agent's checks and the kernel verifier, like bpftool prog load: nothing is attached and no probe body runs.")
    var verifyOnly = false

    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption

    func validate() throws {
    }

    func run() async throws {
        if verifyOnly { return try await runVerifyOnly() }
        try await runClient { () throws(ClientError) in
            var request = try AgentCalls.attachRequest(path: file, name: name, restart: restart, backend: backend)
            // Ken's own front end and resolution first: `file:3:28: … did you mean 'filename'?`
            // about the user's file, before bpftrace ever sees the agent's copy of it.
            if request.kind == .bpftrace {
                let source = request.programText
                let checked = Checker.check(source: source, file: file, kernel: KernelInfo.shared())
                if checked.hasErrors {
                    throw ClientError(.failure, "\(file) does not check against this kernel; nothing was attached",
                                      detail: Checker.renderText([checked]), hint: "kenc check \(file) shows the same diagnostics")
                }
                // Includes BTF makes needless are left out of what the agent runs (their lines
                // emptied, so bpftrace's line numbers stay the user's), saying so.
                if !checked.droppedIncludes.isEmpty {
                    Output.error(Checker.renderText([checked]))
                    request.programText = NeedlessIncludes.removing(checked.droppedIncludes, from: source)
                }
            }
            let response: Ken_V1_AgentResponse
            do throws(ClientError) {
                response = try await agent.calls.call { $0.attach = request }
            } catch {
                throw error.naming(script: file)
            }
            let ext = response.attach.extension
            Output.print(output.json ? AgentJSON.object(ext).render() : ext.id + "\n")
            return .success
        }
    }

    /// `--dry-run`: prints the verdict, the programs that went through the kernel verifier and
    /// the log; exits 1 if the kernel refused.
    func runVerifyOnly() async throws {
        try await runClient { () throws(ClientError) in
            let request = try AgentCalls.verifyRequest(path: file, backend: backend)
            let reply = try await agent.calls.verify(request) { place in
                Output.error("kenc: queued for verification (place \(place))")
            }
            if output.json {
                Output.print(AgentJSON.object(reply).render())
            } else {
                Output.print(AgentFormatting.dryRun(reply, kind: request.kind))
            }
            return reply.accepted ? .success : .failure
        }
    }
}

/// `kenc list [--all] [--json]`: Ken's extensions (and with --all every BPF program in the
/// kernel, Ken's marked), like `bpftool prog list`.
struct ListCommand: AsyncParsableCommand, TakesJSON, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List Ken's extensions; with --all also every BPF program in the kernel.",
        discussion: "With --json: an array of extensions; with --all, an object with extensions and programs.")

    @Flag(help: "Also list every BPF program loaded in the kernel.")
    var all = false

    /// For shell completion: every id and name, one per line.
    @Flag(name: .customLong("completion-words"), help: .hidden)
    var completionWords = false

    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let all = self.all
            let response = try await agent.calls.call { $0.list = Ken_V1_ListRequest.with { $0.all = all } }
            if completionWords {
                Output.print(response.list.extensions.flatMap { [$0.id, $0.name] }.filter { !$0.isEmpty }.map { $0 + "\n" }.joined())
            } else if output.json {
                Output.print(AgentJSON.list(response.list, all: all).render())
            } else {
                Output.print(AgentFormatting.list(response.list, all: all, now: AgentFormatting.nowUnixMs(), userName: AgentFormatting.userName))
            }
            return .success
        }
    }
}

/// The extension argument of `show`, `logs` and `detach`: an id (any case) or a name, or
/// `--name`.
struct ExtensionArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The extension's id (12 hex digits, any case) or its name.", valueName: "id-or-name"),
              completion: extensionCompletion)
    var reference: String?

    @Option(help: ArgumentHelp("Select the extension by name (also accepted as the argument).", valueName: "name"),
            completion: extensionCompletion)
    var name: String?

    func validate() throws {
        if ExtensionReference(positional: reference, name: name) == nil {
            throw ValidationError("give an extension id or name (or --name NAME), not both")
        }
    }

    var resolved: ExtensionReference {
        // validate() has run.
        ExtensionReference(positional: reference, name: name) ?? .name(name ?? reference ?? "")
    }
}

/// `kenc show ID|NAME [--json]`: everything the agent records about one extension.
struct ShowCommand: AsyncParsableCommand, TakesJSON, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one extension: state, programs, memory, errors and its program text.")

    @OptionGroup var target: ExtensionArgument
    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let ext = try await agent.calls.get(target.resolved)
            Output.print(output.json ? AgentJSON.object(ext).render()
                                     : AgentFormatting.show(ext, now: AgentFormatting.nowUnixMs(), userName: AgentFormatting.userName))
            return .success
        }
    }
}

/// `kenc logs ID|NAME [-f] [-n N]`: an extension's recent output and the agent's notes about
/// it; with -f keep printing new lines until interrupted.
struct LogsCommand: AsyncParsableCommand, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print an extension's output; -f follows, --notes adds Ken's and bpftrace's notes.")

    @OptionGroup var target: ExtensionArgument

    @Flag(name: .shortAndLong, help: "Keep printing new lines until interrupted.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the last N lines kept (default: all).", valueName: "lines"))
    var tail: UInt32?

    @Flag(name: .long, help: "Also print the agent's notes and bpftrace's diagnostics (verifier log, warnings), lines as written.")
    var notes = false

    @OptionGroup var agent: AgentSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let id = try await agent.calls.get(target.resolved).id
            let (follow, tail, notes) = (self.follow, self.tail ?? 0, self.notes)
            try await agent.calls.stream({
                $0.logs = Ken_V1_LogsRequest.with { $0.id = id; $0.follow = follow; $0.tail = tail; $0.notes = notes }
            }) { response in
                if case .log(let line)? = response.result { Output.line(AgentFormatting.logLine(line)) }
            }
            return .success
        }
    }
}

/// `kenc detach ID|NAME`: stop an extension and remove it from the kernel.
struct DetachCommand: AsyncParsableCommand, TakesJSON, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach an extension and remove it from the kernel.",
        discussion: "Detaching an extension that is already detached says so and exits 1.")

    @OptionGroup var target: ExtensionArgument
    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let ext = try await agent.calls.detach(target.resolved)
            Output.print(output.json ? AgentJSON.object(ext).render() : "detached \(ext.id) (\(ext.name))\n")
            return .success
        }
    }
}

/// `kenc agent-status [--json]`: the agent's version, kernel, bpftrace, counts, and who you are
/// to it.
struct AgentStatusCommand: AsyncParsableCommand, TakesJSON, TalksToAgent {
    static let configuration = CommandConfiguration(
        commandName: "agent-status",
        abstract: "Show ken-agent's version, kernel, bpftrace and extension counts.")

    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let response = try await agent.calls.call { $0.status = Ken_V1_AgentStatusRequest() }
            Output.print(output.json ? AgentJSON.object(response.statusReply).render() : AgentFormatting.status(response.statusReply))
            return .success
        }
    }
}

/// `--restart no|on-failure|always`, spelled as the policy file spells it.
extension RestartPolicy: ExpressibleByArgument {}
extension ScriptBackend: ExpressibleByArgument {}
