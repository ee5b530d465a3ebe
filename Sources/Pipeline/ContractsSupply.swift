import Comprehension
import Contracts
import KernelInfo
import LLM
import Synthesis

/// The kernel contracts store as the pipeline receives it: already open (ken-eval, ken-bench,
/// tests), or still being built in the background (kend, which answers its socket at once and
/// makes only the calls that need contracts wait for them).
public struct ContractsSupply: Sendable {
    private let fetch: @Sendable () async -> ContractStore?
    private let ready: @Sendable () -> Bool

    /// `store` returns the store once it is open (nil when it cannot be built); `isReady` says,
    /// without waiting, whether it has finished.
    public init(store: @escaping @Sendable () async -> ContractStore?, isReady: @escaping @Sendable () -> Bool) {
        self.fetch = store
        self.ready = isReady
    }

    /// A store that is open now.
    public static func open(_ store: ContractStore) -> ContractsSupply {
        ContractsSupply(store: { store }, isReady: { true })
    }

    /// The store, waiting for it if it is still being built.
    public func store() async -> ContractStore? { await fetch() }
    /// Whether waiting for `store()` would return at once.
    public var isReady: Bool { ready() }
}

/// The Comprehension stage over a `ContractsSupply`: waits for the contracts, then annotates as
/// `ComprehensionAnnotator` does; when they cannot be built, the candidate goes on as written and
/// says so (it can then be CHECKED at most, never proven against contracts it never saw).
struct SuppliedComprehension: CandidateAnnotator {
    let contracts: ContractsSupply
    let llm: LLMClient?
    let kernel: KernelInfo
    let log: AnnotationLog?

    func annotate(_ candidate: KernelCandidate, prompt: String) async -> Result<KernelCandidate, StageFailure> {
        guard let store = await contracts.store() else {
            var unannotated = candidate
            unannotated.annotated = AnnotatedProgram(
                text: candidate.program,
                notes: ["kernel contracts are unavailable on this kernel: no contract annotations were added"])
            return .success(unannotated)
        }
        let engine = ComprehensionEngine(contracts: store, llm: llm, kernel: kernel, log: log)
        return await ComprehensionAnnotator(engine: engine).annotate(candidate, prompt: prompt)
    }
}

/// Probe hints from the contracts once they are open, from the kernel's catalogue until then
/// (a prompt is never held up for hints) or when they cannot be built.
struct SuppliedProbes: ProbeSuggester {
    let contracts: ContractsSupply
    let kinds: Set<ProbeContract.Kind>
    let fallback: CatalogueProbes

    func probes(for prompt: String, limit: Int) async -> [ProbeHint] {
        guard contracts.isReady, let store = await contracts.store() else {
            return await fallback.probes(for: prompt, limit: limit)
        }
        return await ContractProbes(store: store, kinds: kinds).probes(for: prompt, limit: limit)
    }
}
