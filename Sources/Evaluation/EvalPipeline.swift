import BpftraceSyntax
import Comprehension
import Contracts
import ExampleStore
import Foundation
import KenRPC
import KernelInfo
import LLM
import Pipeline
import Synthesis

/// What ken-eval varies per mode, turned into a pipeline by the same assembly kend uses
/// (`SynthesisPipeline.assemble`), minus what would bias a measurement: no synthesis cache and
/// no learning from verified results (those live in kend's engine, not in the pipeline).
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

    /// The loop for `mode`, made fresh for each trial (the offline library counts attempts per
    /// task). The reference mode never synthesizes; it gets the full loop.
    /// - Throws: `SynthesisPipeline.AssemblyError.noSource` with neither an LLM nor examples.
    public func loop(mode: EvalMode, agent: AgentEndpoint) throws -> SynthesisLoop<TypedProgram> {
        try SynthesisPipeline.assemble(PipelineConfiguration(
            kernel: kernel, dialect: dialect, llm: llm, libraryThreshold: libraryThreshold, examples: examples,
            contracts: contracts.map(ContractsSupply.open), annotateWithLLM: annotateWithLLM,
            annotationLog: AnnotationLog(stateDirectory: annotationLogDirectory), agent: agent,
            symbolicVerification: mode != .noSymbolic, feedback: mode != .singleShot)).loop
    }
}
