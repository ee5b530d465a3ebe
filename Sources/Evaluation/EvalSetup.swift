import BpftraceSyntax
import Contracts
import ExampleStore
import Foundation
import KernelInfo
import LLM

/// Builds an `EvalPipeline` the way kend builds its stages: this kernel's facts, the installed
/// bpftrace's dialect, the contracts store (built once per kernel release in `stateDirectory`,
/// then reused) and the shipped example corpus for few-shot retrieval.
public enum EvalSetup {
    /// `configuration` nil: candidates come from the offline example library, as in kend
    /// without an LLM. `libraryThreshold` nil: the calibrated default.
    public static func pipeline(llm configuration: LLMConfiguration?, stateDirectory: String, corpusDirectory: String?,
                                annotateWithLLM: Bool = true, libraryThreshold: Double? = nil, bpftrace: String = "bpftrace",
                                log: @Sendable (String) -> Void = { _ in }) throws -> EvalPipeline {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let kernel = KernelInfo.load()
        let dialect = InstalledBpftrace.dialect(executable: bpftrace) ?? .v0_17
        let client = try configuration.map { try LLMClient(configuration: $0) }
        let contracts: ContractStore?
        do {
            contracts = try ContractStore.open(stateDirectory: stateDirectory, kernel: { kernel })
        } catch {
            log("kernel contracts unavailable, annotating without them: \(error)")
            contracts = nil
        }
        let corpus = corpusDirectory.map { URL(fileURLWithPath: $0) } ?? ExampleStore.locateCorpus()
        let store = try? ExampleStore(ExampleStore.Configuration(
            corpusDirectory: corpus, stateDirectory: URL(fileURLWithPath: stateDirectory).appendingPathComponent("examples")))
        if store == nil { log("example corpus unavailable: prompts carry no few-shot examples") }
        return EvalPipeline(kernel: kernel, dialect: dialect, llm: client, contracts: contracts, examples: store,
                            annotateWithLLM: annotateWithLLM, annotationLogDirectory: stateDirectory,
                            libraryThreshold: libraryThreshold ?? LibraryMatcher.defaultThreshold)
    }
}
