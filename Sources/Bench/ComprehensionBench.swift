import Comprehension
import Contracts
import ExampleStore
import Foundation
import KernelInfo

/// The contracts store (built from this kernel) and the Comprehension Engine without an LLM:
/// contract assumes and Ken's own checks on every corpus program.
public enum ComprehensionBench {
    /// Builds the store once; the kend section reuses it.
    static func contracts(kernel: KernelInfo, directory: String) -> (ContractStore?, Row) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let store = try ContractStore.open(stateDirectory: directory, kernel: { kernel })
            let info = store.info
            return (store, Row(section: "contracts", metric: "build from this kernel", samples: 1,
                               value: milliseconds(clock.now - start) / 1000, unit: "s", target: "< 60 s",
                               note: "\(info.tracepoints) tracepoints, \(info.functions) functions, \(info.rawTracepoints) raw tracepoints, \(info.records) records"))
        } catch {
            return (nil, Row(section: "contracts", metric: "build from this kernel", samples: 0, unit: "s",
                             note: "contracts store failed: \(error)"))
        }
    }

    public static func run(store: ContractStore, kernel: KernelInfo, corpus: URL) async -> [Row] {
        guard let examples = try? ExampleStore(ExampleStore.Configuration(corpusDirectory: corpus, toolDirectories: [])) else {
            return [Row(section: "comprehension", metric: "annotate", samples: 0, unit: "ms", note: "no corpus at \(corpus.path)")]
        }
        let engine = ComprehensionEngine(contracts: store, llm: nil, kernel: kernel)
        var samples = Samples()
        var annotations = 0
        var warnings = 0
        for example in await examples.all() where example.probes.allSatisfy({ $0.hasPrefix("tracepoint:") }) {
            let result = await samples.time { await engine.annotate(source: example.program, prompt: example.prompt) }
            annotations += result.annotations.count
            warnings += result.warnings.count
        }
        return [samples.row("comprehension", "annotate, per corpus program (no LLM)",
                            note: "\(annotations) contract assumes added, \(warnings) warnings from Ken's checks over \(samples.count) programs")]
    }
}
