import ArgumentParser
import Foundation
import SymbolicVerifier

/// `kenc verify FILE`: proves the asserts of an annotated bpftrace program locally (no daemon).
/// Exit status: 0 VERIFIED, 1 VIOLATED, 2 UNKNOWN, 3 the program does not parse or resolve.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove the assert()s of an annotated bpftrace program with the symbolic verifier.")

    @Argument(help: "The bpftrace program (.bt) with assume/assert annotations.")
    var file: String

    @Option(name: .long, help: "The English request the program was written for (recorded in the result).")
    var prompt: String?

    @Option(name: .long, help: "Per-query solver timeout in seconds.")
    var timeout: Double = 10

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Flag(name: .long, help: "Do not resolve types against the running kernel; use bpftrace's defaults.")
    var noKernel = false

    func run() async throws {
        let source: String
        do {
            source = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("kenc verify: cannot read \(file): \(error.localizedDescription)\n".utf8))
            throw ExitCode(VerifyFile.frontEndFailure)
        }
        guard timeout.isFinite, timeout > 0 else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
        var options = VerificationOptions()
        options.queryTimeout = .milliseconds(Int64(min(timeout, 86_400) * 1000))
        options.totalBudget = max(options.totalBudget, options.queryTimeout * 6)
        let outcome = VerifyFile.run(source: source, file: file, useKernel: !noKernel, prompt: prompt,
                                     options: options, json: json)
        print(outcome.output)
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}
