import KenProto

/// What the attempt loop found for one task, before it is put on the wire.
///
/// The loop fills this value; `report` makes the client's `Ken_V1_SynthesisReport` from it in
/// one place. New facts about a task (a verdict, a cost) are a field here and a line in `report`.
public struct SynthesisResult: Sendable {
    public var taskID: String
    public var attempts: [AttemptRecord] = []
    /// Who wrote the latest candidate (nil: no source answered).
    public var origin: CandidateOrigin?
    /// Whether a candidate passed every stage.
    public var passed = false
    /// PROVEN or CHECKED: of the candidate that passed, else of the last one judged (whose
    /// reason the report keeps, e.g. why `--require-proof` refused it).
    public var verdict: ProgramVerdict?
    /// Attempts ran out on candidates a hint could fix (not set when the task was stopped).
    public var needsHint = false
    /// The passing candidate, or the one that got furthest.
    public var program = ""
    public var annotatedProgram = ""
    /// The prover's verdicts on the latest candidate it saw.
    public var asserts: [Ken_V1_AssertVerdict] = []
    /// The agent's record, when the candidate was attached.
    public var extensionRecord: Ken_V1_Extension?
    /// Said to the user alongside the result, in order ("no LLM is configured: …").
    public var notes: [String] = []

    public init(taskID: String) {
        self.taskID = taskID
    }

    /// The result on the wire.
    public var report: Ken_V1_SynthesisReport {
        var report = Ken_V1_SynthesisReport()
        report.taskID = taskID
        report.passed = passed
        report.needsHint = needsHint
        report.program = program
        report.annotatedProgram = annotatedProgram
        report.verdicts = asserts
        report.attempts = attempts.map(\.proto)
        report.note = notes.joined(separator: "; ")
        if let verdict {
            if passed { verdict.apply(to: &report) } else { report.unprovenReason = verdict.unprovenReason }
        }
        switch origin {
        case .llm: report.origin = .llm
        case .pinned: report.origin = .pinned
        case .library(_, let similarity):
            report.origin = .library
            report.similarity = similarity
        case nil: break
        }
        if let extensionRecord {
            report.extension = extensionRecord
            report.attached = extensionRecord.state == .attached
        }
        return report
    }
}

/// One attempt as the loop saw it.
public struct AttemptRecord: Sendable {
    public struct Timing: Sendable {
        public var stage: Ken_V1_Stage
        public var seconds: Double
    }

    public var number: Int
    /// The program as the source wrote it.
    public var program = ""
    public var promptTokens = 0
    public var completionTokens = 0
    public var errors: [Ken_V1_Diagnostic] = []
    public var timings: [Timing] = []

    public init(number: Int) {
        self.number = number
    }

    var proto: Ken_V1_Attempt {
        var attempt = Ken_V1_Attempt()
        attempt.number = UInt32(clamping: number)
        attempt.program = program
        attempt.promptTokens = UInt32(clamping: promptTokens)
        attempt.completionTokens = UInt32(clamping: completionTokens)
        attempt.errors = errors
        attempt.timings = timings.map { timing in
            Ken_V1_StageTiming.with { $0.stage = timing.stage; $0.seconds = timing.seconds }
        }
        return attempt
    }
}

/// The state of one attempt while it runs: its record, and the clock for its stage timings.
final class AttemptRun {
    let number: Int
    var record: AttemptRecord
    private let clock = ContinuousClock()

    init(number: Int) {
        self.number = number
        record = AttemptRecord(number: number)
    }

    /// The file name diagnostics of this attempt point at.
    var file: String { "attempt-\(number).bt" }

    /// Runs one stage, recording how long it took whether it passed or not.
    func timed<T>(_ stage: Ken_V1_Stage, _ body: () async throws -> T) async rethrows -> T {
        let started = clock.now
        defer { record.timings.append(.init(stage: stage, seconds: (clock.now - started).seconds)) }
        return try await body()
    }
}

/// The state of one task while the loop runs it: the result so far, the feedback, the candidate
/// that got furthest, and the progress events.
final class TaskRun {
    /// How far a candidate got, for "the candidate that got furthest".
    enum Reach: Int, Comparable {
        case proposed, parsed, annotated
        static func < (lhs: Reach, rhs: Reach) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    var result: SynthesisResult
    private(set) var feedback: [Feedback]
    private let keepsFeedback: Bool
    private let onEvent: @Sendable (Ken_V1_SynthesisEvent) async -> Void
    private var furthest: Reach?
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant

    init(taskID: String, feedback: [Feedback], keepsFeedback: Bool,
         onEvent: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) {
        result = SynthesisResult(taskID: taskID)
        self.feedback = feedback
        self.keepsFeedback = keepsFeedback
        self.onEvent = onEvent
        started = clock.now
    }

    var outcome: SynthesisOutcome { SynthesisOutcome(result: result, feedback: feedback) }

    /// Tells the caller a stage started or ended (the wire event is made here).
    func emit(_ attempt: Int, _ stage: Ken_V1_Stage, _ message: String, _ errors: [Ken_V1_Diagnostic] = []) async {
        var event = Ken_V1_SynthesisEvent()
        event.taskID = result.taskID
        event.attempt = UInt32(clamping: attempt)
        event.stage = stage
        event.message = message
        event.errors = errors
        event.elapsedSeconds = (clock.now - started).seconds
        await onEvent(event)
    }

    /// A source answered: the result says who, once.
    func wrote(_ origin: CandidateOrigin) {
        result.origin = origin
        if case .library(let id, let similarity) = origin, result.notes.isEmpty {
            let percent = "\(Int((similarity * 100).rounded()))%"
            result.notes.append("no LLM is configured: answered from the example library with \(id), an example that does the asked task (word similarity \(percent))")
        }
    }

    /// Keeps the candidate if it got further than any before it.
    func reached(_ reach: Reach, _ program: String, annotated: String) {
        guard furthest.map({ $0 < reach }) ?? true else { return }
        furthest = reach
        result.program = program
        result.annotatedProgram = annotated
    }

    /// A stage refused the candidate: its errors go in the attempt, and in later prompts.
    func failed(_ failure: StageFailure, attempt: AttemptRun) async {
        result.attempts[result.attempts.count - 1].errors += failure.diagnostics.isEmpty
            ? [StageFailure.diagnostic(failure.feedback)] : failure.diagnostics
        if keepsFeedback {
            feedback.append(Feedback(attempt: attempt.number, stage: failure.stage.displayName, message: failure.feedback))
        }
        await emit(attempt.number, failure.stage, "failed: \(failure.feedback.firstLine)", failure.diagnostics)
    }

    /// The source or the agent could not be reached: the task ends, and no hint would help.
    func stopped(_ reason: String, stage: Ken_V1_Stage?, attempt: Int) async {
        result.attempts[result.attempts.count - 1].errors.append(StageFailure.diagnostic(reason))
        result.notes = ["synthesis stopped: \(reason)"]
        if let stage { await emit(attempt, stage, "stopped: \(reason)") }
        await finishUnpassed(needsHint: false)
    }

    /// Every stage passed.
    func passed<Typed>(_ candidate: Candidate<Typed>, verdict: ProgramVerdict, proofWarnings: [String],
                       attempt: Int, attached: Bool) async {
        result.passed = true
        result.verdict = verdict
        if !proofWarnings.isEmpty { result.notes.append("symbolic verifier: " + proofWarnings.joined(separator: "; ")) }
        result.program = candidate.program
        result.annotatedProgram = candidate.annotatedText
        let headline = verdict.isProven ? "proven" : "checked, nothing proven"
        await emit(attempt, .done, attached ? "\(headline), attached" : headline)
    }

    /// Attempts ran out: a hint can continue the task.
    func ranOut() async {
        await finishUnpassed(needsHint: true)
    }

    private func finishUnpassed(needsHint: Bool) async {
        result.passed = false
        let library = if case .library = result.origin { true } else { false }
        // Without an LLM a hint changes nothing: the library proposes the same examples again.
        result.needsHint = needsHint && !library
        if result.notes.isEmpty || library {
            result.notes.append("no candidate passed every check in \(result.attempts.count) attempt(s)")
        }
        // A stopped source (the offline library declining, an unreachable endpoint) is not helped
        // by a hint, so none is advised.
        let message = result.needsHint ? "attempts ran out: add a hint (kenc synth --hint \"…\") to continue this task"
            : needsHint ? "attempts ran out: nothing attached (no LLM is configured, so a hint would not help)"
            : "stopped: nothing attached"
        await emit(result.attempts.count, .done, message)
    }
}
