import BpftraceSyntax
import Comprehension
import Contracts
import ExampleStore
import KenRPC
import KernelInfo
import LLM
import Synthesis

/// Everything a synthesis pipeline is built from. kend fills it from its settings, ken-eval
/// from a mode, ken-bench from the benchmark's needs; `SynthesisPipeline.assemble` is the one
/// place that turns it into stages.
public struct PipelineConfiguration: Sendable {
    /// This kernel's facts: the front end resolves against them.
    public var kernel: KernelInfo
    /// The installed bpftrace's dialect: candidates are lowered to it.
    public var dialect: BpftraceDialect
    /// Who writes candidates: an LLM, or (nil) the offline example library.
    public var llm: LLMClient?
    /// The offline library's "close enough" similarity (0...1).
    public var libraryThreshold: Double
    /// Few-shot examples for the prompt, and the offline library.
    public var examples: ExampleStore?
    /// The per-release contracts store (open, or still being built); nil: no Comprehension,
    /// candidates are proven with their own annotations only, and probe hints come from the
    /// kernel's catalogue.
    public var contracts: ContractsSupply?
    /// false: Comprehension asks no LLM for prompt-derived asserts (contract assumes only).
    public var annotateWithLLM: Bool
    /// Where Comprehension records each annotated program it verified.
    public var annotationLog: AnnotationLog?
    /// ken-agent, for the kernel verifier and attach; nil: the kernel is not consulted.
    public var agent: AgentEndpoint?
    /// false: the "no symbolic verification" ablation (no Comprehension, no prover).
    public var symbolicVerification: Bool
    /// false: the "single-shot" ablation (errors are not fed into later attempts).
    public var feedback: Bool

    public init(kernel: KernelInfo, dialect: BpftraceDialect = .v0_17, llm: LLMClient? = nil,
                libraryThreshold: Double = LibraryMatcher.defaultThreshold, examples: ExampleStore? = nil, contracts: ContractsSupply? = nil,
                annotateWithLLM: Bool = true, annotationLog: AnnotationLog? = nil, agent: AgentEndpoint? = nil,
                symbolicVerification: Bool = true, feedback: Bool = true) {
        self.kernel = kernel
        self.dialect = dialect
        self.llm = llm
        self.libraryThreshold = libraryThreshold
        self.examples = examples
        self.contracts = contracts
        self.annotateWithLLM = annotateWithLLM
        self.annotationLog = annotationLog
        self.agent = agent
        self.symbolicVerification = symbolicVerification
        self.feedback = feedback
    }
}

/// The synthesis pipeline, wired: the attempt loop with its stages, and the annotator used for
/// pinned programs (manifests, cached syntheses), which never asks an LLM.
public struct SynthesisPipeline: Sendable {
    public var loop: SynthesisLoop<TypedProgram>
    public var pinnedAnnotator: (any CandidateAnnotator<TypedProgram>)?
    /// The model that writes candidates, or "" for the offline library.
    public var model: String

    /// A pipeline wired by hand (tests that swap one stage); kend, ken-eval and ken-bench use
    /// `assemble`.
    public init(loop: SynthesisLoop<TypedProgram>, pinnedAnnotator: (any CandidateAnnotator<TypedProgram>)? = nil,
                model: String) {
        self.loop = loop
        self.pinnedAnnotator = pinnedAnnotator
        self.model = model
    }

    public enum AssemblyError: Error, CustomStringConvertible {
        case noSource
        public var description: String {
            "no candidate source: configure an LLM endpoint, or give the offline library an example corpus"
        }
    }

    /// Builds the stages from `configuration`.
    /// - Throws: `AssemblyError.noSource` with neither an LLM nor an example store.
    public static func assemble(_ configuration: PipelineConfiguration) throws -> SynthesisPipeline {
        let kernel = configuration.kernel
        let source: any CandidateSource
        if let llm = configuration.llm {
            source = LLMCandidateSource(client: llm)
        } else if let examples = configuration.examples {
            source = LibrarySource(store: examples, threshold: configuration.libraryThreshold)
        } else {
            throw AssemblyError.noSource
        }
        let symbolic = configuration.symbolicVerification
        func annotator(llm: LLMClient?) -> (any CandidateAnnotator<TypedProgram>)? {
            guard symbolic, let contracts = configuration.contracts else { return nil }
            return SuppliedComprehension(contracts: contracts, llm: llm, kernel: kernel, log: configuration.annotationLog)
        }
        let loop = SynthesisLoop<TypedProgram>(
            source: source,
            frontEnd: FrontEndChecker(kernel: kernel, dialect: configuration.dialect),
            annotator: annotator(llm: configuration.annotateWithLLM ? configuration.llm : nil),
            prover: symbolic ? VerifierProver(kernel: kernel) : nil,
            kernel: configuration.agent.map { AgentGate(agent: $0) },
            examples: configuration.examples.map { StoreRetriever(store: $0) },
            probes: probeSuggester(kernel: kernel, contracts: configuration.contracts),
            bpftraceVersion: configuration.dialect.version.description,
            feedbackEnabled: configuration.feedback)
        return SynthesisPipeline(loop: loop, pinnedAnnotator: annotator(llm: nil),
                                 model: configuration.llm?.configuration.model ?? "")
    }

    /// Probe hints for the prompt: the contracts store's search, limited to the kinds this
    /// kernel can attach (function probes only where kprobes work), else the catalogue.
    static func probeSuggester(kernel: KernelInfo, contracts: ContractsSupply?) -> any ProbeSuggester {
        let catalogue = CatalogueProbes(kernel: kernel)
        guard let contracts else { return catalogue }
        var kinds: Set<ProbeContract.Kind> = [.tracepoint, .rawTracepoint]
        if kernel.catalogue.unavailableReason(.kprobe) == nil { kinds.insert(.function) }
        return SuppliedProbes(contracts: contracts, kinds: kinds, fallback: catalogue)
    }

    /// The loop for a program given with the request (pinned, cached): `source` proposes it,
    /// and it is annotated without an LLM, or proven with its own annotations when it has them.
    public func pinnedLoop(_ source: PinnedSource) -> SynthesisLoop<TypedProgram> {
        var pinned = loop
        pinned.source = source
        pinned.annotator = hasOwnAnnotations(source.program) ? nil : pinnedAnnotator
        return pinned
    }
}
