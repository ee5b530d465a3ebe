import Comprehension
import Contracts
import ExampleStore
import KendCore
import KernelInfo
import Synthesis

/// The pipeline kend wires, for the benchmarks (the same parts, no LLM).
enum BenchPipeline {
    static func stages(kernel: KernelInfo, store: ExampleStore, agentSocket: String,
                       contracts: ContractStore?) -> PipelineStages {
        PipelineStages(checker: FrontEndChecker(kernel: kernel, dialect: .v0_17),
                       annotator: contracts.map { ComprehensionAnnotator(engine: ComprehensionEngine(contracts: $0, llm: nil, kernel: kernel)) },
                       prover: VerifierProver(kernel: kernel),
                       kernel: AgentGate(socketPath: agentSocket),
                       examples: StoreRetriever(store: store),
                       probes: CatalogueProbes(kernel: kernel),
                       bpftraceVersion: "0.17.0")
    }
}
