import ArgumentParser
import Bench
import Foundation

/// ken-bench: Ken's speed and memory, as one table (and the same as JSON). The measurements
/// live in the Bench library; this is argument parsing and output only.
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

    @Option(parsing: .upToNextOption, help: "Sections to run: frontend verifier comprehension agent native kend (default: all).")
    var only: [String] = []

    func validate() throws {
        let unknown = Set(only).subtracting(BenchSuite.allSections)
        guard unknown.isEmpty else {
            throw ValidationError("unknown section(s) \(unknown.sorted().joined(separator: ", ")); sections: \(BenchSuite.allSections.sorted().joined(separator: " "))")
        }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let rows = await BenchSuite.run(sections: only.isEmpty ? BenchSuite.allSections : Set(only),
                                        rounds: rounds, prompts: prompts, corpus: URL(fileURLWithPath: corpus))
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
