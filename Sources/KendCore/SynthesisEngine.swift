import Foundation
import KenProto
import KenRPC
import Synthesis

/// The parts of one synthesis pipeline, wired once at kend's start.
public struct PipelineStages: Sendable {
    public var checker: any ProgramChecker
    public var annotator: (any ProgramAnnotator)?
    /// The annotator for pinned programs: the same contracts and checks, never an LLM.
    public var pinnedAnnotator: (any ProgramAnnotator)?
    public var prover: (any ProgramProver)?
    public var kernel: (any KernelGate)?
    public var examples: (any ExampleRetriever)?
    public var probes: (any ProbeSuggester)?
    public var bpftraceVersion: String

    public init(checker: any ProgramChecker, annotator: (any ProgramAnnotator)?, prover: (any ProgramProver)?,
                kernel: (any KernelGate)?, examples: (any ExampleRetriever)?, probes: (any ProbeSuggester)?,
                bpftraceVersion: String, pinnedAnnotator: (any ProgramAnnotator)? = nil) {
        self.checker = checker
        self.annotator = annotator
        self.pinnedAnnotator = pinnedAnnotator
        self.prover = prover
        self.kernel = kernel
        self.examples = examples
        self.probes = probes
        self.bpftraceVersion = bpftraceVersion
    }
}

/// kend's synthesis service: tasks, the cache, continuation with hints, and learning.
///
/// Everything here is policy around `SynthesisLoop`: which source writes candidates (an LLM, or
/// the example library when none is configured), whether a cached synthesis can stand in for
/// the LLM, what is remembered of a task so a hint can continue it, and what the example store
/// learns from a proven synthesis.
public struct SynthesisEngine: Sendable {
    public var stages: PipelineStages
    public var source: any CandidateSource
    /// The model name, or "" for the offline library: part of the cache key.
    public var model: String
    public var cache: SynthesisCache?
    public var tasks: TaskStore
    public var kernelRelease: String
    public var corpusVersion: String
    public var defaultAttempts: Int
    /// Called with (prompt, program) after a proven LLM synthesis: the example store learns.
    public var learn: (@Sendable (String, String) async -> Void)?

    public init(stages: PipelineStages, source: any CandidateSource, model: String, cache: SynthesisCache?,
                tasks: TaskStore, kernelRelease: String, corpusVersion: String, defaultAttempts: Int = 3,
                learn: (@Sendable (String, String) async -> Void)? = nil) {
        self.stages = stages
        self.source = source
        self.model = model
        self.cache = cache
        self.tasks = tasks
        self.kernelRelease = kernelRelease
        self.corpusVersion = corpusVersion
        self.defaultAttempts = defaultAttempts
        self.learn = learn
    }

    /// Runs (or continues) a synthesis task.
    /// - Throws: `RPCStatusError` for requests that cannot start: no prompt, an unknown task id.
    /// `pinned` replaces the candidate source with a fixed program (a fleet manifest's): it is
    /// checked end to end and never rewritten; the cache and learning are left out.
    public func synthesize(_ call: Ken_V1_SynthesizeRequest, pinned: PinnedSource? = nil,
                           onEvent: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async throws -> Ken_V1_SynthesisReport {
        var prompt = call.prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        var hints = call.hints.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        var prior: [Feedback] = []
        var name = call.name
        let taskID: String
        if call.taskID.isEmpty {
            taskID = TaskStore.newID()
        } else {
            guard let record = await tasks.load(call.taskID) else {
                throw RPCStatusError(.notFound, "no synthesis task \(call.taskID)",
                                     hint: "start a new task with kenc synth \"PROMPT\"")
            }
            taskID = record.taskID
            prior = record.feedbackItems
            hints = record.hints + hints
            if prompt.isEmpty { prompt = record.prompt }
            if name.isEmpty { name = record.name }
        }
        guard !prompt.isEmpty else {
            throw RPCStatusError(.invalidArgument, "the prompt is empty", hint: "say what the extension should do")
        }
        guard prompt.utf8.count <= 16 * 1024 else {
            throw RPCStatusError(.invalidArgument, "the prompt is longer than 16 KiB")
        }
        let attempts = call.maxAttempts == 0 ? defaultAttempts : Int(min(call.maxAttempts, 20))
        let request = SynthesisRequest(prompt: prompt, name: name.isEmpty ? "ken-\(taskID.prefix(8))" : name,
                                       attach: call.attach && !call.verifyOnly, maxAttempts: attempts, hints: hints,
                                       requireProof: call.requireProof)

        let key = SynthesisCache.Key(prompt: prompt, kernelRelease: kernelRelease, model: model,
                                     corpusVersion: corpusVersion)
        var candidateSource = source
        var fromCache = false
        if let pinned {
            candidateSource = pinned
        } else if prior.isEmpty, hints.isEmpty, let cache, let cached = cache.lookup(key) {
            candidateSource = PinnedSource(program: cached.program, origin: .llm(model: model),
                                           label: "cached synthesis", fallback: source)
            fromCache = true
        }

        // A pinned program is checked without an LLM; when it carries its own assume/assert
        // statements, those are its specification and are proven as written.
        let annotator: (any ProgramAnnotator)?
        if let pinned {
            annotator = hasOwnAnnotations(pinned.program) ? nil : stages.pinnedAnnotator
        } else {
            annotator = stages.annotator
        }
        let loop = SynthesisLoop(source: candidateSource, checker: stages.checker, annotator: annotator,
                                 prover: stages.prover, kernel: stages.kernel, examples: stages.examples,
                                 probes: stages.probes, bpftraceVersion: stages.bpftraceVersion)
        let outcome = await loop.runTask(request, taskID: taskID, priorFeedback: prior, onEvent: onEvent)
        var report = outcome.report
        if fromCache, report.passed, report.attempts.count == 1 {
            report.source = "cache"
        }

        let record = TaskRecord(taskID: taskID, prompt: prompt, name: name, hints: hints,
                                feedback: outcome.feedback.map { .init(attempt: $0.attempt, stage: $0.stage, message: $0.message) },
                                createdUnixMs: Int64(Date().timeIntervalSince1970 * 1000))
        try? await tasks.save(record)
        if report.passed, report.source == "llm" {
            // The cache keeps the verdict with the program; only a proven program is learned as
            // a worked example, so the library never teaches what was merely checked.
            try? cache?.store(report, for: key)
            if report.verdict == .proven { await learn?(prompt, report.program) }
        }
        return report
    }
}
