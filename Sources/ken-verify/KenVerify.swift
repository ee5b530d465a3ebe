import ArgumentParser
import Foundation
import KenClient
import SymbolicVerifier

/// ken-verify: the symbolic verifier as a program of its own, run by `kenc verify`. It exists
/// so that kenc links no Z3 (nor anything else the verifier needs); its arguments, output and
/// exit statuses are exactly `kenc verify`'s.
@main
struct KenVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ken-verify",
        abstract: "Prove the assert()s of an annotated bpftrace program (run by kenc verify).")

    @OptionGroup var arguments: VerifyArguments

    @Flag(name: [.customShort("j"), .long], help: "Print JSON.")
    var json = false

    func run() throws {
        Output.prepare()
        let source: String
        do {
            source = try InputFile.readText(arguments.file)
        } catch {
            Output.error(error.rendered)
            throw ExitCode(error.exit.status)
        }
        var options = VerificationOptions()
        options.queryTimeout = .milliseconds(Int64(min(arguments.queryTimeout, 86_400) * 1000))
        options.totalBudget = max(options.totalBudget, options.queryTimeout * 6)
        let outcome = VerifyFile.run(source: source, file: arguments.file, useKernel: !arguments.noKernel,
                                     prompt: arguments.prompt, options: options)
        let exit = Self.exit(outcome.exitCode)
        if let result = outcome.result {
            Output.line(json ? LocalFormatting.verification(result).render() : outcome.output)
        } else {
            // The front end refused the program: its diagnostics, as `kenc check` prints them.
            Output.line(outcome.output)
        }
        if exit != .success { throw ExitCode(exit.status) }
    }

    /// The verifier's own statuses, as kenc's exit enum names them.
    static func exit(_ status: Int32) -> KencExit {
        switch status {
        case 0: .success
        case 1: .violated
        case 2: .undecided
        default: .doesNotResolve
        }
    }
}
