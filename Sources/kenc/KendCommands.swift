import ArgumentParser
import Fleet
import Foundation
import KenClient
import KenProto

/// `kenc synth "PROMPT"`: ask kend for a checked (ideally proven) program, optionally attach it.
struct SynthCommand: AsyncParsableCommand, TakesJSON, TalksToKend {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Turn an English prompt into a checked eBPF program, proven when it can be (attach with --attach).",
        discussion: """
            Shows each stage as it runs on stderr, then the verdict: PROVEN when an assert tied to \
            the prompt was proven, CHECKED when every stage passed but nothing was proven (with \
            the reason); then the program, its annotations and each assert's verdict and who \
            claimed it. When every attempt fails, the best candidate and all errors are shown; \
            continue the same task with --task ID --hint TEXT. --require-proof refuses to attach \
            a checked program.
            Exit status: 0 every stage passed (and attached when asked), 1 not, 4 permission \
            denied, 5 kend unreachable.
            """)

    @Argument(help: "What the extension should do, in plain English.")
    var prompt: String = ""

    @Flag(help: "Attach the program through ken-agent once every stage passed.")
    var attach = false

    @Flag(help: "Attach (or accept) only a PROVEN program; a CHECKED one is refused with the reason.")
    var requireProof = false

    @Option(help: "Name for the attached extension.")
    var name: String = ""

    @Option(help: ArgumentHelp("Write the program that passed every stage to this file.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Attempts before asking for a hint (default: kend's own setting, 3 unless configured).", valueName: "n"))
    var maxAttempts: UInt32?

    @Option(help: "A hint for the model; repeat for several.")
    var hint: [String] = []

    @Option(help: ArgumentHelp("Continue an earlier task (its 16-hex-digit id is printed when attempts run out).", valueName: "id"))
    var task: String = ""

    @OptionGroup var output: JSONOption
    @OptionGroup var kend: KendSocketOption

    func validate() throws {
        if prompt.isEmpty && task.isEmpty {
            throw ValidationError("give a prompt, or --task ID with --hint to continue a task")
        }
    }

    func run() async throws {
        try await runClient { () throws(ClientError) in
            var request = Ken_V1_KendRequest()
            request.synthesize = Ken_V1_SynthesizeRequest.with {
                $0.prompt = prompt
                $0.attach = attach
                $0.name = name
                $0.maxAttempts = maxAttempts ?? 0
                $0.hints = hint
                $0.taskID = task
                $0.requireProof = requireProof
            }
            let attempts = Int(maxAttempts ?? 3)
            let json = output.json
            let response = try await kend.calls.call(request) { event in
                if !json { Output.error(ReportFormatting.progressLine(event, maxAttempts: attempts)) }
            }
            guard case .report(let report) = response.result else {
                throw ClientError(.failure, "kend answered without a synthesis report")
            }
            Output.line(json ? ReportFormatting.json(report).render() : ReportFormatting.text(report))
            if let out, report.passed {
                do {
                    try report.program.write(toFile: out, atomically: true, encoding: .utf8)
                } catch {
                    throw ClientError(.failure, "cannot write \(out): \(error.localizedDescription)")
                }
            }
            return report.passed && (!attach || report.attached) ? .success : .failure
        }
    }
}

/// `kenc apply`: make the extensions on this host match a directory of manifests.
struct ApplyCommand: AsyncParsableCommand, TakesJSON, TalksToKend {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Attach what the manifests declare, re-synthesize what changed, optionally prune the rest.",
        discussion: """
            Reads *.toml manifests (name, prompt, optional pinned program) from a directory or \
            one file and asks kend to reconcile: declared but missing extensions are synthesized \
            and attached, changed ones replaced once their new version passes every check, unchanged ones \
            left alone; with --prune, extensions an earlier apply created and no manifest \
            declares any more are detached. A second run changes nothing and says so. \
            --require-proof (or require_proof = true in a manifest) attaches only PROVEN programs.
            Exit status (as Puppet's --detailed-exitcodes): 0 no change, 2 changed, 4 failed, \
            6 changed and failed; 1 the manifests could not be read; 5 kend unreachable.
            """)

    @Option(name: [.customShort("f"), .customLong("file")],
            help: ArgumentHelp("A manifest directory or file (default: \(ManifestLoader.defaultDirectory)).", valueName: "path"),
            completion: .file(extensions: ["toml"]))
    var path: String?

    @Flag(help: "Detach extensions created by an earlier apply that no manifest declares any more.")
    var prune = false

    @Flag(help: "Attach only PROVEN programs; a CHECKED one fails with the reason nothing was proven.")
    var requireProof = false

    @Flag(help: "Show the plan; change nothing.")
    var dryRun = false

    @OptionGroup var output: JSONOption
    @OptionGroup var kend: KendSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let manifests = try ManifestInput.load(path: path)
            var request = Ken_V1_KendRequest()
            request.apply = Ken_V1_ApplyRequest.with {
                $0.manifests = manifests.map(\.proto)
                $0.prune = prune
                $0.dryRun = dryRun
                $0.requireProof = requireProof
            }
            let json = output.json
            let response: Ken_V1_KendResponse
            do throws(ClientError) {
                response = try await kend.calls.call(request) { event in
                    if !json { Output.error(ApplyFormatting.progressLine(event)) }
                }
            } catch where error.exit == .failure || error.exit == .notFound || error.exit == .usage {
                // A refused apply is a failed apply for configuration management.
                Output.error(error.rendered)
                return .applied(changed: false, failed: true)
            }
            guard case .apply(let reply) = response.result else {
                Output.error("kenc: error: kend answered without an apply result")
                return .applied(changed: false, failed: true)
            }
            Output.line(json ? ApplyFormatting.json(reply, dryRun: dryRun).render() : ApplyFormatting.table(reply, dryRun: dryRun))
            return ApplyFormatting.exit(reply)
        }
    }
}

/// Reading manifests for `kenc apply`: unreadable ones exit 1 (2 means "changed" to apply's
/// callers), and a missing default directory says where manifests go.
enum ManifestInput {
    static func load(path: String?) throws(ClientError) -> [Manifest] {
        let target = path ?? ManifestLoader.defaultDirectory
        var isDirectory: ObjCBool = false
        if path == nil, !FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) {
            throw ClientError(.manifestsUnreadable, "no manifest directory \(target)",
                              hint: "put one *.toml manifest per extension (name, prompt) in \(target), or give -f PATH; see ken.toml(5), FLEET MANIFESTS")
        }
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), !isDirectory.boolValue {
            do {
                _ = try InputFile.readText(target)
            } catch {
                throw ClientError(.manifestsUnreadable, error.message, hint: error.hint)
            }
        }
        do {
            return try ManifestLoader.load(path: target)
        } catch {
            throw ClientError(.manifestsUnreadable, "\(error)")
        }
    }
}

/// `kenc status`: versions, kernel and every extension, as one document.
struct StatusCommand: AsyncParsableCommand, TakesJSON, TalksToAgent, TalksToKend {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show ken-agent, kend, the kernel and every extension (one JSON document with --json).",
        discussion: "Exit status: 0 when both daemons answered, 5 when either is unreachable (the output says which).")

    @OptionGroup var output: JSONOption
    @OptionGroup var agent: AgentSocketOption
    @OptionGroup var kend: KendSocketOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let status = await FleetStatus.gather(agentSocket: agent.socket, kendSocket: kend.socket)
            Output.line(output.json ? status.json().render() : status.text())
            return status.exit
        }
    }
}

/// `kenc examples`: the few-shot example store kend retrieves from.
struct ExamplesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples",
        abstract: "List, search, add and remove the examples kend shows the model.",
        discussion: "Exit status: 0 success, 1 failure, 2 usage or unreadable file, 3 no such example, 4 permission denied, 5 kend unreachable.",
        subcommands: [List.self, Search.self, Add.self, Remove.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand, TakesJSON, TalksToKend {
        static let configuration = CommandConfiguration(abstract: "Every example: shipped corpus, installed tools, learned.")
        @Option(help: ArgumentHelp("Only examples of this origin: corpus, installed-tool or learned.", valueName: "origin"))
        var origin: String?
        @OptionGroup var output: JSONOption
        @OptionGroup var kend: KendSocketOption

        func run() async throws {
            try await runClient { () throws(ClientError) in
                var reply = try await kend.calls.examples(.with { $0.action = .list })
                if let origin { reply.examples = reply.examples.filter { $0.origin == origin } }
                ExamplesCommand.show(reply, json: output.json, withSimilarity: false)
                return .success
            }
        }
    }

    struct Search: AsyncParsableCommand, TakesJSON, TalksToKend {
        static let configuration = CommandConfiguration(abstract: "The examples closest to a prompt, as the Prompter would pick them.")
        @Argument(help: "A prompt.") var query: String
        @Option(help: ArgumentHelp("How many (default: 5).", valueName: "n")) var limit: UInt32?
        @OptionGroup var output: JSONOption
        @OptionGroup var kend: KendSocketOption

        func run() async throws {
            try await runClient { () throws(ClientError) in
                let reply = try await kend.calls.examples(.with {
                    $0.action = .search
                    $0.prompt = query
                    $0.limit = limit ?? 5
                })
                ExamplesCommand.show(reply, json: output.json, withSimilarity: true)
                return .success
            }
        }
    }

    struct Add: AsyncParsableCommand, TakesJSON, TalksToKend {
        static let configuration = CommandConfiguration(abstract: "Add a prompt and a program (checked by the front end first).")
        @Option(help: "What a person would ask for.") var prompt: String
        @Argument(help: ArgumentHelp("The bpftrace program file.", valueName: "file"), completion: .file(extensions: ["bt"]))
        var file: String
        @Option(help: "A tag; repeat for several.") var tag: [String] = []
        @OptionGroup var output: JSONOption
        @OptionGroup var kend: KendSocketOption

        func run() async throws {
            try await runClient { () throws(ClientError) in
                let program = try InputFile.readText(file)
                let reply = try await kend.calls.examples(.with {
                    $0.action = .add
                    $0.prompt = prompt
                    $0.program = program
                    $0.tags = tag
                })
                ExamplesCommand.show(reply, json: output.json, withSimilarity: false)
                return .success
            }
        }
    }

    struct Remove: AsyncParsableCommand, TakesJSON, TalksToKend {
        static let configuration = CommandConfiguration(abstract: "Remove a learned example.")
        @Argument(help: "The example's id.") var id: String
        @OptionGroup var output: JSONOption
        @OptionGroup var kend: KendSocketOption

        func run() async throws {
            try await runClient { () throws(ClientError) in
                let reply = try await kend.calls.examples(.with {
                    $0.action = .remove
                    $0.id = id
                })
                if output.json {
                    ExamplesCommand.show(reply, json: true, withSimilarity: false)
                } else {
                    Output.line("removed \(reply.examples.first?.id ?? id)")
                }
                return .success
            }
        }
    }

    static func show(_ reply: Ken_V1_ExamplesReply, json: Bool, withSimilarity: Bool) {
        Output.print(json ? ExamplesFormatting.json(reply, withSimilarity: withSimilarity).render()
                          : ExamplesFormatting.text(reply, withSimilarity: withSimilarity))
    }
}
