import Foundation
import KenProto
import KenRPC
import Pipeline
import Synthesis

/// kend's synthesis service: tasks, the cache, continuation with hints, and learning.
///
/// Everything here is policy around `SynthesisLoop`: which source writes candidates (an LLM, or
/// the example library when none is configured), whether a cached synthesis can stand in for
/// the LLM, what is remembered of a task so a hint can continue it, and what the example store
/// learns from a proven synthesis.
public struct SynthesisEngine: Sendable {
    /// The stages, wired once (`SynthesisPipeline.assemble`).
    public var pipeline: SynthesisPipeline
    public var cache: SynthesisCache?
    public var tasks: TaskStore
    public var kernelRelease: String
    public var corpusVersion: String
    public var defaultAttempts: Int
    /// kend.toml's `synthesis.require_proof`: every request refuses to attach a CHECKED program.
    public var requireProof: Bool
    /// Called with (prompt, program) after a proven LLM synthesis: the example store learns.
    public var learn: (@Sendable (String, String) async -> Void)?

    public init(pipeline: SynthesisPipeline, cache: SynthesisCache?, tasks: TaskStore, kernelRelease: String,
                corpusVersion: String, defaultAttempts: Int = 3, requireProof: Bool = false,
                learn: (@Sendable (String, String) async -> Void)? = nil) {
        self.pipeline = pipeline
        self.cache = cache
        self.tasks = tasks
        self.kernelRelease = kernelRelease
        self.corpusVersion = corpusVersion
        self.defaultAttempts = defaultAttempts
        self.requireProof = requireProof
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
                                       requireProof: call.requireProof || requireProof)

        let key = SynthesisCache.Key(prompt: prompt, kernelRelease: kernelRelease, model: pipeline.model,
                                     corpusVersion: corpusVersion)
        // A pinned program is checked without an LLM and never rewritten; a cached synthesis
        // stands in for the model's first answer, and the model writes the next ones.
        var loop = pipeline.loop
        var fromCache = false
        if let pinned {
            loop = pipeline.pinnedLoop(pinned)
        } else if prior.isEmpty, hints.isEmpty, let cache, let cached = cache.lookup(key) {
            loop.source = PinnedSource(program: cached.program, origin: .llm(model: pipeline.model),
                                       label: "cached synthesis", fallback: loop.source)
            fromCache = true
        }
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
