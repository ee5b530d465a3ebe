import Foundation

/// Ken's final word on one trial.
public enum EvalVerdict: String, Sendable, Codable, Equatable {
    /// Every stage passed and ken-agent attached the program.
    case passedAttached = "passed+attached"
    /// The candidate passed Ken's own checks but the kernel (or bpftrace) refused it last.
    case kernelRejected = "passed-but-kernel-rejected"
    /// No candidate passed Ken's checks in the attempts given.
    case notPassed = "not-passed"
}

/// What the behaviour check saw.
public enum BehaviourStatus: String, Sendable, Codable, Equatable {
    /// The output matched `expect` after the trigger.
    case passed
    /// The output never matched `expect`.
    case failed
    /// No check ran: nothing was attached, or the entry has no trigger/expect.
    case notRun = "not-run"
    /// The check failed, but the entry's trigger is optional (it may not fire on this machine).
    case inconclusive
}

/// Seconds spent in one stage, summed over a trial's attempts.
public struct StageSeconds: Sendable, Codable, Equatable {
    public var stage: String
    public var seconds: Double
    public init(stage: String, seconds: Double) {
        self.stage = stage
        self.seconds = seconds
    }
}

/// One prompt, one trial.
public struct TrialResult: Sendable, Codable, Equatable {
    public var id: String
    public var trial: Int
    public var mode: EvalMode
    public var verdict: EvalVerdict
    public var attempts: Int
    /// Per stage, summed over the attempts (from the report's attempts[].timings).
    public var stageSeconds: [StageSeconds]
    /// Per attempt, in order: stage → seconds.
    public var attemptTimings: [[StageSeconds]]
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalSeconds: Double
    public var behaviour: BehaviourStatus
    /// The extension's output (its end) when the check ran: the evidence for the judgement.
    public var output: String
    /// The program Ken ended with (verified, or the furthest candidate).
    public var program: String
    /// The report's note, or why the trial stopped.
    public var note: String
    /// Per attempt, its errors (first lines), "" for an attempt that passed.
    public var attemptErrors: [String]

    /// The loop stopped early because the candidate source or the agent failed (an unreachable
    /// endpoint, the offline library declining), not because checks refused every candidate.
    public var stopped: Bool { note.hasPrefix("synthesis stopped") }

    public init(id: String, trial: Int, mode: EvalMode, verdict: EvalVerdict, attempts: Int,
                stageSeconds: [StageSeconds], attemptTimings: [[StageSeconds]], promptTokens: Int,
                completionTokens: Int, totalSeconds: Double, behaviour: BehaviourStatus, output: String,
                program: String, note: String, attemptErrors: [String] = []) {
        self.id = id
        self.trial = trial
        self.mode = mode
        self.verdict = verdict
        self.attempts = attempts
        self.stageSeconds = stageSeconds
        self.attemptTimings = attemptTimings
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalSeconds = totalSeconds
        self.behaviour = behaviour
        self.output = output
        self.program = program
        self.note = note
        self.attemptErrors = attemptErrors
    }

    /// The paper's classes: accurate (verified and behaves), false positive (verified, and
    /// the behaviour check fails), false negative (no verified program).
    public var outcome: Outcome {
        guard verdict == .passedAttached else { return .falseNegative }
        switch behaviour {
        case .passed: return .accurate
        case .failed: return .falsePositive
        case .notRun, .inconclusive: return .unchecked
        }
    }

    public enum Outcome: String, Sendable, Codable {
        case accurate, falsePositive = "false-positive", falseNegative = "false-negative", unchecked
    }
}

/// The numbers of a run, over every trial.
public struct EvalSummary: Sendable, Codable, Equatable {
    public var mode: EvalMode
    public var prompts: Int
    public var trials: Int
    public var passedAttached: Int
    public var kernelRejected: Int
    public var notPassed: Int
    public var accurate: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    /// Verified trials whose behaviour could not be judged (no check, or an optional trigger).
    public var unchecked: Int
    /// Trials the loop stopped early (source or agent failure): counted as false negatives, and
    /// shown apart so an unreachable endpoint is not mistaken for a weak model.
    public var stopped: Int
    /// accurate / trials.
    public var accuracy: Double
    /// falseNegatives / trials: no verified program (the paper's liveness failures).
    public var falseNegativeRate: Double
    /// falsePositives / trials: verified, yet the behaviour check fails (safety failures).
    public var falsePositiveRate: Double
    public var meanAttempts: Double
    public var meanSeconds: Double
    public var promptTokens: Int
    public var completionTokens: Int
    /// Mean seconds per stage per trial.
    public var stageMeans: [StageSeconds]

    public init(mode: EvalMode, results: [TrialResult]) {
        self.mode = mode
        prompts = Set(results.map(\.id)).count
        trials = results.count
        passedAttached = results.filter { $0.verdict == .passedAttached }.count
        kernelRejected = results.filter { $0.verdict == .kernelRejected }.count
        notPassed = results.filter { $0.verdict == .notPassed }.count
        accurate = results.filter { $0.outcome == .accurate }.count
        falsePositives = results.filter { $0.outcome == .falsePositive }.count
        falseNegatives = results.filter { $0.outcome == .falseNegative }.count
        unchecked = results.filter { $0.outcome == .unchecked }.count
        stopped = results.filter(\.stopped).count
        let n = Double(max(trials, 1))
        accuracy = Double(accurate) / n
        falseNegativeRate = Double(falseNegatives) / n
        falsePositiveRate = Double(falsePositives) / n
        meanAttempts = Double(results.map(\.attempts).reduce(0, +)) / n
        meanSeconds = results.map(\.totalSeconds).reduce(0, +) / n
        promptTokens = results.map(\.promptTokens).reduce(0, +)
        completionTokens = results.map(\.completionTokens).reduce(0, +)
        var sums: [String: Double] = [:]
        var order: [String] = []
        for result in results {
            for entry in result.stageSeconds {
                if sums[entry.stage] == nil { order.append(entry.stage) }
                sums[entry.stage, default: 0] += entry.seconds
            }
        }
        stageMeans = order.map { StageSeconds(stage: $0, seconds: (sums[$0] ?? 0) / n) }
    }
}
