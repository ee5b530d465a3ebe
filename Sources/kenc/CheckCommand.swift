import ArgumentParser
import BpftraceSemantics

/// `kenc check FILE... [--json] [--no-kernel]`: parse and resolve bpftrace programs against
/// the running kernel. Exit status 0 when every file is clean, 1 otherwise.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check bpftrace programs against the running kernel's probes and types.")

    @Argument(help: "bpftrace program files.")
    var files: [String]

    @Flag(help: "Print diagnostics as JSON.")
    var json = false

    @Flag(name: .customLong("no-kernel"), help: "Only check syntax; do not consult tracefs or BTF.")
    var noKernel = false

    func run() async throws {
        let results = Checker.check(paths: files, useKernel: !noKernel)
        if json {
            print(Checker.renderJSON(results))
        } else {
            let text = Checker.renderText(results)
            if !text.isEmpty { print(text) }
        }
        if results.contains(where: \.hasErrors) { throw ExitCode(1) }
    }
}
