import ArgumentParser
import Foundation
import KenProto
import KenRPC

/// `kenc examples`: the few-shot example store kend retrieves from.
struct ExamplesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples",
        abstract: "List, search, add and remove the examples kend shows the model.",
        subcommands: [List.self, Search.self, Add.self, Remove.self],
        defaultSubcommand: List.self)

    struct Options: ParsableArguments {
        @Flag(help: "Print JSON.")
        var json = false

        @Option(help: "kend's socket (env KEN_SOCKET).")
        var kendSocket: String = ProcessInfo.processInfo.environment["KEN_SOCKET"] ?? "/run/ken/kend.sock"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every example: shipped corpus, installed tools, learned.")
        @OptionGroup var options: Options
        @Option(help: "Only examples of this origin: corpus, installed-tool, learned.")
        var origin: String?

        func run() async throws {
            var reply = try await ExamplesCommand.call(options, .with { $0.action = .list })
            if let origin { reply.examples = reply.examples.filter { $0.origin == origin } }
            ExamplesCommand.show(reply, options: options, withSimilarity: false)
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The examples closest to a prompt, as the Prompter would pick them.")
        @OptionGroup var options: Options
        @Argument(help: "A prompt.") var query: String
        @Option(help: "How many.") var limit: UInt32 = 5

        func run() async throws {
            let reply = try await ExamplesCommand.call(options, .with {
                $0.action = .search
                $0.prompt = query
                $0.limit = limit
            })
            ExamplesCommand.show(reply, options: options, withSimilarity: true)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a prompt and a program (checked by the front end first).")
        @OptionGroup var options: Options
        @Option(help: "What a person would ask for.") var prompt: String
        @Argument(help: "The bpftrace program file.") var file: String
        @Option(help: "A tag; repeat for several.") var tag: [String] = []

        func run() async throws {
            guard let program = try? String(contentsOfFile: file, encoding: .utf8) else {
                printError("kenc: cannot read \(file)")
                throw ExitCode(1)
            }
            let reply = try await ExamplesCommand.call(options, .with {
                $0.action = .add
                $0.prompt = prompt
                $0.program = program
                $0.tags = tag
            })
            ExamplesCommand.show(reply, options: options, withSimilarity: false)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a learned example.")
        @OptionGroup var options: Options
        @Argument(help: "The example's id.") var id: String

        func run() async throws {
            let reply = try await ExamplesCommand.call(options, .with {
                $0.action = .remove
                $0.id = id
            })
            if !options.json { print("removed \(reply.examples.first?.id ?? id)") } else { ExamplesCommand.show(reply, options: options, withSimilarity: false) }
        }
    }

    static func call(_ options: Options, _ request: Ken_V1_ExamplesRequest) async throws -> Ken_V1_ExamplesReply {
        try await KendCall.run(socket: options.kendSocket, .with { $0.examples = request }).examples
    }

    static func show(_ reply: Ken_V1_ExamplesReply, options: Options, withSimilarity: Bool) {
        if options.json {
            let rows: [[String: Any]] = reply.examples.map {
                ["id": $0.id, "prompts": $0.prompts, "program": $0.program, "tags": $0.tags, "origin": $0.origin,
                 "similarity": $0.similarity, "needs_unsafe": $0.needsUnsafe]
            }
            let data = (try? JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for example in reply.examples {
            let score = withSimilarity ? String(format: "%3.0f%%  ", example.similarity * 100) : ""
            print("\(score)\(example.id.padding(toLength: 28, withPad: " ", startingAt: 0))  \(example.origin.padding(toLength: 14, withPad: " ", startingAt: 0))  \(example.prompts.first ?? "")")
        }
        if reply.examples.isEmpty { print("no examples") }
    }
}
