import ArgumentParser
import BpftraceSemantics
import Contracts
import Foundation
import KenClient
import KernelInfo

/// `kenc check FILE... [--json] [--no-kernel]`: parse and resolve bpftrace programs against
/// the running kernel.
struct CheckCommand: AsyncParsableCommand, TakesJSON {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check bpftrace programs against the running kernel's probes and types.",
        discussion: "Exit status: 0 when every file is clean, 1 diagnostics, 2 a file cannot be read.")

    @Argument(help: ArgumentHelp("bpftrace program files.", valueName: "file"), completion: .file(extensions: ["bt"]))
    var files: [String]

    @Flag(name: .customLong("no-kernel"), help: "Only check syntax; do not consult tracefs or BTF.")
    var noKernel = false

    @OptionGroup var output: JSONOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            var sources: [(String, String)] = []
            for file in files { sources.append((file, try InputFile.readText(file))) }
            let kernel: KernelInfo? = noKernel ? nil : KernelInfo.shared()
            let results = sources.map { Checker.check(source: $0.1, file: $0.0, kernel: kernel) }
            if output.json {
                Output.print(LocalFormatting.check(results).render())
            } else {
                let text = Checker.renderText(results)
                if !text.isEmpty { Output.line(text) }
            }
            return results.contains(where: \.hasErrors) ? .failure : .success
        }
    }
}

/// `kenc fmt FILE [--write]`: print a bpftrace program in canonical layout.
struct FmtCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Re-print a bpftrace program in canonical layout.",
        discussion: "Exit status: 0 formatted, 1 the program does not parse, 2 the file cannot be read or written.")

    @Argument(help: ArgumentHelp("bpftrace program file.", valueName: "file"), completion: .file(extensions: ["bt"]))
    var file: String

    @Flag(help: "Rewrite the file in place instead of printing to standard output.")
    var write = false

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let source = try InputFile.readText(file)
            switch Checker.format(source: source, file: file) {
            case let .success(text):
                if write {
                    do {
                        try text.write(toFile: file, atomically: true, encoding: .utf8)
                    } catch {
                        throw ClientError(.usage, "cannot write \(file): \(error.localizedDescription)")
                    }
                } else {
                    Output.line(text)
                }
                return .success
            case let .failure(failure):
                Output.error(failure.description)
                return .failure
            }
        }
    }
}

/// `kenc verify FILE`: proves the asserts of an annotated bpftrace program locally (no daemon).
///
/// The symbolic verifier links Z3, and kenc links neither Z3 nor libcurl: this subcommand
/// parses its arguments and hands them to the `ken-verify` helper, which runs in place of
/// kenc (exec) with the same standard streams, so the output and exit status are the
/// helper's. A helper rather than a call to kend keeps `kenc verify` working without any
/// daemon, for hand-written annotations, exactly as the assert()s are written.
struct VerifyCommand: AsyncParsableCommand, TakesJSON {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove the assert()s of an annotated bpftrace program with the symbolic verifier.",
        discussion: """
            Exit status: 0 verified, 1 violated, 2 unknown (solver timeout or unsupported \
            construct) or the file cannot be read, 3 the program does not parse or resolve.
            """)

    @OptionGroup var arguments: VerifyArguments
    @OptionGroup var output: JSONOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            try VerifyHelper.exec(arguments.helperArguments(json: output.json))
        }
    }
}

/// `kenc contracts PROBE [--json]`: shows what Ken knows about a kernel probe on this machine
/// (field/parameter types, user pointers, byte order, ranges, conventions). Reads the
/// per-release contracts store, building it first when this kernel has none yet.
struct ContractsCommand: AsyncParsableCommand, TakesJSON {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "Show the kernel contracts of a probe (types, user pointers, byte order, ranges).",
        discussion: "Exit status: 0 shown, 1 the store cannot be opened, 3 no such probe on this kernel.")

    @Argument(help: ArgumentHelp("A probe, e.g. tracepoint:syscalls:sys_enter_openat, kfunc:tcp_connect, kprobe:tcp_v4_connect. With --search, a prompt.",
                                 valueName: "probe"))
    var probe: String

    @Flag(name: .long, help: "Treat PROBE as a prompt and list the most relevant probes on this kernel.")
    var search = false

    @Option(name: .long, help: ArgumentHelp("Directory holding contracts-<release>.db (default: /var/lib/kend).", valueName: "dir"),
            completion: .directory)
    var stateDir: String?

    @OptionGroup var output: JSONOption

    func run() async throws {
        try await runClient { () throws(ClientError) in
            let store: ContractStore
            do {
                store = try ContractStore.open(stateDirectory: stateDir ?? "/var/lib/kend")
            } catch {
                throw ClientError(.failure, "\(error)")
            }
            if store.info.rebuiltNow {
                Output.error("built contracts for \(store.release) in \(String(format: "%.1f", store.info.buildSeconds)) s: \(store.path)")
            }
            if search {
                let matches: [ProbeMatch]
                do { matches = try store.search(prompt: probe, limit: 15) } catch { throw ClientError(.failure, "\(error)") }
                if output.json {
                    Output.print(LocalFormatting.contracts(matches.map(\.contract)).render())
                } else {
                    Output.print(matches.map { String(format: "%7.2f  ", $0.score) + ContractText.probeLine($0.contract) + "\n" }.joined())
                }
                return .success
            }
            let contract: ProbeContract?
            do { contract = try store.contract(forProbe: probe) } catch { throw ClientError(.usage, "\(error)") }
            guard let contract else {
                throw ClientError(.notFound, "no probe \(probe) on this kernel (\(store.release))",
                                  hint: "kenc contracts --search \"what you want to trace\" lists probes that exist")
            }
            let records: [RecordContract]
            do { records = try store.records(reachableFrom: contract) } catch { throw ClientError(.failure, "\(error)") }
            if output.json {
                Output.print(LocalFormatting.contracts(ContractDocument(probe: probe, contract: contract, records: records,
                                                                        builtinFacts: store.builtinFacts)).render())
            } else {
                Output.line(ContractText.render(contract, records: records))
            }
            return .success
        }
    }

    struct ContractDocument: Encodable {
        var probe: String
        var contract: ProbeContract
        var records: [RecordContract]
        var builtinFacts: [ContractFact]
    }
}
