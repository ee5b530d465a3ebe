import ArgumentParser
import Contracts
import Foundation
import KernelInfo

/// ken-bench: Ken's speed and memory, as one table (and the same as JSON).
@main
struct KenBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ken-bench",
        abstract: "Measure Ken: front end, symbolic verifier, agent RPC and attach/detach, kend overhead.",
        discussion: """
            Run as root on a kernel with BTF and tracefs, in a release build: \
            swift run -c release ken-bench --json docs/benchmarks.json. Sections that cannot run \
            (no root, no clang for BPF objects) say why in the notes instead of a number.
            """)

    @Option(help: "Also write the rows as JSON to this file.")
    var json: String?

    @Option(help: "Rounds for repeated measurements (more: steadier percentiles, longer run).")
    var rounds = 5

    @Option(help: "Corpus prompts pushed through the pipeline for the kend overhead.")
    var prompts = 20

    @Option(help: "The example corpus directory.")
    var corpus = "corpus/examples"

    @Option(parsing: .upToNextOption, help: "Sections to run: frontend verifier comprehension agent kend (default: all).")
    var only: [String] = []

    func run() async throws {
        let sections = Set(only.isEmpty ? ["frontend", "verifier", "comprehension", "agent", "kend"] : only)
        let kernel = KernelInfo.load()
        var rows: [Row] = []
        let clock = ContinuousClock()
        let start = clock.now
        if sections.contains("frontend") { rows += FrontEndBench.run(kernel: kernel, rounds: rounds) }
        if sections.contains("verifier") {
            rows += VerifierBench.run(kernel: kernel, corpus: URL(fileURLWithPath: corpus), rounds: rounds)
        }
        let contractsDirectory = NSTemporaryDirectory() + "ken-bench-contracts-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: contractsDirectory) }
        var contracts: ContractStore?
        if sections.contains("comprehension") || sections.contains("kend") {
            let (store, row) = ComprehensionBench.contracts(kernel: kernel, directory: contractsDirectory)
            contracts = store
            rows.append(row)
            if let store, sections.contains("comprehension") {
                rows += await ComprehensionBench.run(store: store, kernel: kernel, corpus: URL(fileURLWithPath: corpus))
            }
        }
        if sections.contains("agent") {
            rows += getuid() == 0 ? await AgentBench.run(rounds: rounds)
                : [Row(section: "agent", metric: "all", samples: 0, unit: "-", note: "not root: the agent cannot load programs")]
        }
        if sections.contains("kend") {
            rows += getuid() == 0 ? await KendBench.run(kernel: kernel, corpus: URL(fileURLWithPath: corpus), prompts: prompts, contracts: contracts)
                : [Row(section: "kend", metric: "all", samples: 0, unit: "-", note: "not root: the kernel verifier stage needs the agent")]
        }
        let elapsed = milliseconds(clock.now - start) / 1000
        let machine = machineDescription()
        print("ken-bench on \(machine); \(String(format: "%.1f", elapsed)) s")
        print(renderTable(rows))
        if let json {
            let document = BenchDocument(machine: machine, date: ISO8601DateFormatter().string(from: Date()),
                                         seconds: elapsed, rows: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(document).write(to: URL(fileURLWithPath: json))
        }
    }
}

struct BenchDocument: Codable {
    var machine: String
    var date: String
    var seconds: Double
    var rows: [Row]
}
