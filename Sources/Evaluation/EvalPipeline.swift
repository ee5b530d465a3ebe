import BpftraceSyntax
import Comprehension
import Contracts
import ExampleStore
import Foundation
import KendCore
import KernelInfo
import LLM
import Synthesis

/// Wires the attempt loop for a mode from the same parts kend uses (KendDaemon.start), minus
/// what would bias a measurement: no synthesis cache and no learning from verified results.
public struct EvalPipeline: Sendable {
    public var kernel: KernelInfo
    public var dialect: BpftraceDialect
    /// Who writes candidates: an LLM, or (nil) kend's offline example library.
    public var llm: LLMClient?
    /// The offline library's "close enough" similarity, used when `llm` is nil.
    public var libraryThreshold: Double
    /// nil: annotations come from contracts alone, and the prover sees only those.
    public var contracts: ContractStore?
    public var examples: ExampleStore?
    /// false: the Comprehension Engine asks no LLM (contract assumes and Ken's own checks only).
    public var annotateWithLLM: Bool
    public var annotationLogDirectory: String

    public init(kernel: KernelInfo, dialect: BpftraceDialect = .v0_17, llm: LLMClient?, contracts: ContractStore?,
                examples: ExampleStore?, annotateWithLLM: Bool = true, annotationLogDirectory: String,
                libraryThreshold: Double = LibraryMatcher.defaultThreshold) {
        self.kernel = kernel
        self.dialect = dialect
        self.llm = llm
        self.libraryThreshold = libraryThreshold
        self.contracts = contracts
        self.examples = examples
        self.annotateWithLLM = annotateWithLLM
        self.annotationLogDirectory = annotationLogDirectory
    }

    public enum PipelineError: Error, CustomStringConvertible {
        case noSource
        public var description: String {
            "no candidate source: configure an LLM endpoint, or give the offline library an example corpus"
        }
    }

    /// The loop for `mode`, made fresh for each trial (the offline library counts attempts per
    /// task). The reference mode never synthesizes; it gets the full loop.
    public func loop(mode: EvalMode, agentSocket: String) throws -> SynthesisLoop {
        let source: any CandidateSource
        if let llm {
            source = LLMCandidateSource(client: llm)
        } else if let examples {
            source = LibrarySource(store: examples, threshold: libraryThreshold)
        } else {
            throw PipelineError.noSource
        }
        let symbolic = mode != .noSymbolic
        let annotator: (any ProgramAnnotator)? = symbolic ? contracts.map {
            ComprehensionAnnotator(engine: ComprehensionEngine(
                contracts: $0, llm: annotateWithLLM ? llm : nil, kernel: kernel,
                log: AnnotationLog(stateDirectory: annotationLogDirectory)))
        } : nil
        var kinds: Set<ProbeContract.Kind> = [.tracepoint, .rawTracepoint]
        if kernel.catalogue.unavailableReason(.kprobe) == nil { kinds.insert(.function) }
        let probes: any ProbeSuggester = contracts.map { ContractProbes(store: $0, kinds: kinds) as any ProbeSuggester }
            ?? CatalogueProbes(kernel: kernel)
        return SynthesisLoop(
            source: source,
            checker: FrontEndChecker(kernel: kernel, dialect: dialect),
            annotator: annotator,
            prover: symbolic ? VerifierProver(kernel: kernel) : nil,
            kernel: AgentGate(socketPath: agentSocket),
            examples: examples.map { StoreRetriever(store: $0) },
            probes: probes,
            bpftraceVersion: dialect.version.description,
            feedbackEnabled: mode != .singleShot)
    }
}
