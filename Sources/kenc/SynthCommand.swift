import ArgumentParser
import Foundation
import KendCore
import KenProto
import KenRPC

/// `kenc synth "PROMPT"`: ask kend for a checked (ideally proven) program, optionally attach it.
struct SynthCommand: AsyncParsableCommand {
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

    @Option(help: "Write the program that passed every stage to this file.")
    var out: String?

    @Option(help: "Attempts before asking for a hint (default: kend's, 3).")
    var maxAttempts: UInt32 = 0

    @Option(help: "A hint for the model; repeat for several.")
    var hint: [String] = []

    @Option(help: "Continue an earlier task (its id is printed when attempts run out).")
    var task: String = ""

    @Flag(help: "Print the final report as JSON on stdout.")
    var json = false

    @Option(help: "kend's socket (env KEN_SOCKET).")
    var kendSocket: String = ProcessInfo.processInfo.environment["KEN_SOCKET"] ?? "/run/ken/kend.sock"

    func validate() throws {
        if prompt.isEmpty && task.isEmpty {
            throw ValidationError("give a prompt, or --task ID with --hint to continue a task")
        }
    }

    func run() async throws {
        var request = Ken_V1_KendRequest()
        request.synthesize = Ken_V1_SynthesizeRequest.with {
            $0.prompt = prompt
            $0.attach = attach
            $0.name = name
            $0.maxAttempts = maxAttempts
            $0.hints = hint
            $0.taskID = task
            $0.requireProof = requireProof
        }
        let attempts = Int(maxAttempts == 0 ? 3 : maxAttempts)
        let response = try await KendCall.run(socket: kendSocket, request) { event in
            if !json { printError(ReportFormatting.progressLine(event, maxAttempts: attempts)) }
        }
        guard case .report(let report) = response.result else {
            printError("kenc: kend answered without a synthesis report")
            throw ExitCode(1)
        }
        print(json ? ReportFormatting.json(report) : ReportFormatting.text(report))
        if let out, report.passed {
            try report.program.write(toFile: out, atomically: true, encoding: .utf8)
        }
        let succeeded = report.passed && (!attach || report.attached)
        if !succeeded { throw ExitCode(1) }
    }
}
