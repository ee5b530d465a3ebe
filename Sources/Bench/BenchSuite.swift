import Contracts
import Foundation
import KernelInfo

/// ken-bench's sections, run in order: the program's logic, as a library the tests reach.
public enum BenchSuite {
    public static let allSections: Set<String> = ["frontend", "verifier", "comprehension", "agent", "native", "kend"]

    /// Runs `sections` and returns their rows. Sections that cannot run here (not root, no
    /// clang) return a row that says why instead of a number.
    public static func run(sections: Set<String>, rounds: Int, prompts: Int, corpus: URL) async -> [Row] {
        let kernel = KernelInfo.load()
        var rows: [Row] = []
        if sections.contains("frontend") { rows += FrontEndBench.run(kernel: kernel, rounds: rounds) }
        if sections.contains("verifier") {
            rows += VerifierBench.run(kernel: kernel, corpus: corpus, rounds: rounds)
        }
        let contractsDirectory = NSTemporaryDirectory() + "ken-bench-contracts-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: contractsDirectory) }
        var contracts: ContractStore?
        if sections.contains("comprehension") || sections.contains("kend") {
            let (store, row) = ComprehensionBench.contracts(kernel: kernel, directory: contractsDirectory)
            contracts = store
            rows.append(row)
            if let store, sections.contains("comprehension") {
                rows += await ComprehensionBench.run(store: store, kernel: kernel, corpus: corpus)
            }
        }
        if sections.contains("agent") {
            rows += getuid() == 0 ? await AgentBench.run(rounds: rounds)
                : [Row(section: "agent", metric: "all", samples: 0, unit: "-", note: "not root: the agent cannot load programs")]
        }
        if sections.contains("native") {
            rows += getuid() == 0 ? NativeRuntimeBench.run(rounds: rounds)
                : [Row(section: "native", metric: "all", samples: 0, unit: "-", note: "not root: cannot load programs")]
        }
        if sections.contains("kend") {
            rows += getuid() == 0 ? await KendBench.run(kernel: kernel, corpus: corpus, prompts: prompts, contracts: contracts)
                : [Row(section: "kend", metric: "all", samples: 0, unit: "-", note: "not root: the kernel verifier stage needs the agent")]
        }
        return rows
    }
}

/// The rows as `--json` writes them, with where and when they were measured.
public struct BenchDocument: Codable {
    public var machine: String
    public var date: String
    public var seconds: Double
    public var rows: [Row]

    public init(machine: String, date: String, seconds: Double, rows: [Row]) {
        self.machine = machine
        self.date = date
        self.seconds = seconds
        self.rows = rows
    }
}
