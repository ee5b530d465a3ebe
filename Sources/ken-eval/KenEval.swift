import ArgumentParser
import Evaluation
import Foundation
import LLM

/// `ken-eval DATASET.jsonl`: runs Ken's pipeline (or an ablation) over a held-apart dataset and
/// reports accuracy, false negatives and false positives. Argument parsing only: the work is in
/// the Evaluation module.
@main
struct KenEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ken-eval",
        abstract: "Measure Ken on a dataset of prompts: verdicts, behaviour checks, accuracy, false positives and negatives.")

    @Argument(help: "The dataset: one JSON object per line {id, prompt, reference_program, trigger, expect, tags}.")
    var dataset: String

    @Option(help: "Trials per prompt.")
    var trials = 1

    @Option(help: "full | single-shot | no-symbolic | reference.")
    var mode = "full"

    @Flag(help: "Attach the dataset's reference programs instead of synthesizing (same as --mode reference).")
    var reference = false

    @Option(help: "Attempts per trial (single-shot always uses 1).")
    var attempts = 3

    @Option(name: .customLong("llm-url"), help: "An OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (default: KEN_LLM_URL).")
    var llmURL: String?

    @Option(name: .customLong("llm-model"), help: "The model name (default: KEN_LLM_MODEL).")
    var llmModel: String?

    @Flag(help: "No LLM: candidates come from the offline example library, as kend answers without one.")
    var library = false

    @Option(help: "The offline library's word-similarity floor among examples that do the task (0...1; default: the calibrated one).")
    var libraryThreshold: Double?

    @Flag(help: "The Comprehension Engine asks no LLM: contract annotations and Ken's own checks only.")
    var noLlmAnnotations = false

    @Option(name: .customLong("agent-socket"), help: "Use a running ken-agent instead of starting one in-process (which needs root).")
    var agentSocket: String?

    @Option(help: "Where the contracts store and example index are kept between runs.")
    var state = NSTemporaryDirectory() + "ken-eval-state"

    @Option(help: "The example corpus (default: found as kend finds it).")
    var corpus: String?

    @Option(help: "Only these entry ids (comma-separated).")
    var only: String?

    @Option(help: "Seconds to wait for the expected output after the trigger.")
    var wait = 3.0

    @Option(help: "Write every trial and the summary as JSON lines here.")
    var out: String?

    @Flag(help: "Print JSON lines on stdout instead of the table.")
    var json = false

    func run() async throws {
        let chosen = reference ? EvalMode.reference : EvalMode(rawValue: mode)
        guard let chosen else {
            throw ValidationError("unknown mode \(mode): use full, single-shot, no-symbolic or reference")
        }
        guard trials >= 1, attempts >= 1, wait > 0 else { throw ValidationError("--trials, --attempts and --wait must be positive") }
        var entries = try EvalDataset.load(path: dataset)
        if let only {
            let wanted = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            entries = entries.filter { wanted.contains($0.id) }
            guard !entries.isEmpty else { throw ValidationError("no entry of \(dataset) has one of the ids \(only)") }
        }

        var pipeline: EvalPipeline?
        if chosen != .reference {
            let configuration = library ? nil : try llmConfiguration()
            pipeline = try EvalSetup.pipeline(llm: configuration, stateDirectory: state, corpusDirectory: corpus,
                                              annotateWithLLM: !noLlmAnnotations, libraryThreshold: libraryThreshold,
                                              log: { FileHandle.standardError.write(Data(("ken-eval: " + $0 + "\n").utf8)) })
        }
        let agent: EvalAgent
        if let agentSocket {
            agent = EvalAgent.external(socketPath: agentSocket)
        } else {
            agent = try await EvalAgent.inProcess()
        }
        let runner = EvalRunner(mode: chosen, trials: trials, maxAttempts: attempts,
                                behaviour: BehaviourCheck(wait: .milliseconds(Int64(wait * 1000))),
                                pipeline: pipeline, agent: agent)
        let printTable = !json
        if printTable { print(EvalReport.header) }
        let results: [TrialResult]
        do {
            results = try await runner.run(entries) { result in
                if printTable { print(EvalReport.row(result)) }
            }
        } catch {
            await agent.shutdown()
            throw error
        }
        await agent.shutdown()
        let summary = EvalSummary(mode: chosen, results: results)
        let lines = EvalReport.jsonLines(results, summary: summary)
        if json { print(lines, terminator: "") } else { print("\n" + EvalReport.summaryText(summary)) }
        if let out {
            do { try lines.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(out): \(error)")
            }
        }
    }

    /// The flags win over the environment; either must name a URL and a model.
    func llmConfiguration() throws -> LLMConfiguration {
        var environment = ProcessInfo.processInfo.environment
        if let llmURL { environment["KEN_LLM_URL"] = llmURL }
        if let llmModel { environment["KEN_LLM_MODEL"] = llmModel }
        guard let configuration = try LLMConfiguration.fromEnvironment(environment) else {
            throw ValidationError("no LLM endpoint: pass --llm-url URL --llm-model MODEL (or set KEN_LLM_URL and KEN_LLM_MODEL), or use --library or --reference")
        }
        return configuration
    }
}
