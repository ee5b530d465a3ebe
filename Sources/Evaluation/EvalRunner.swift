import Foundation
import KenProto
import Pipeline
import Synthesis

/// Runs a dataset through one mode: N trials per prompt, each judged by Ken's verdict and then,
/// when something was attached, by the entry's behaviour check.
public struct EvalRunner: Sendable {
    public var mode: EvalMode
    public var trials: Int
    /// Attempts per trial (the single-shot mode always uses 1).
    public var maxAttempts: Int
    public var behaviour: BehaviourCheck
    /// nil only in the reference mode.
    public var pipeline: EvalPipeline?
    public var agent: EvalAgent

    public init(mode: EvalMode, trials: Int = 1, maxAttempts: Int = 3, behaviour: BehaviourCheck = BehaviourCheck(),
                pipeline: EvalPipeline?, agent: EvalAgent) {
        self.mode = mode
        self.trials = max(1, trials)
        self.maxAttempts = mode == .singleShot ? 1 : max(1, maxAttempts)
        self.behaviour = behaviour
        self.pipeline = pipeline
        self.agent = agent
    }

    public enum RunError: Error, CustomStringConvertible {
        case noPipeline(EvalMode)
        public var description: String {
            switch self {
            case .noPipeline(let mode): "mode \(mode.rawValue) needs a synthesis pipeline (an LLM endpoint, or --library)"
            }
        }
    }

    /// Every trial of every entry, in order; `onResult` sees each as it finishes.
    public func run(_ entries: [EvalEntry],
                    onResult: @Sendable (TrialResult) async -> Void = { _ in }) async throws -> [TrialResult] {
        if mode != .reference, pipeline == nil { throw RunError.noPipeline(mode) }
        var results: [TrialResult] = []
        for entry in entries {
            for trial in 1...trials {
                let result: TrialResult
                if let pipeline, mode != .reference {
                    let loop = try pipeline.loop(mode: mode, agent: agent.endpoint)
                    result = await synthesized(entry, trial: trial, loop: loop)
                } else {
                    result = await reference(entry, trial: trial)
                }
                results.append(result)
                await onResult(result)
            }
        }
        return results
    }

    func synthesized(_ entry: EvalEntry, trial: Int, loop: SynthesisLoop<TypedProgram>) async -> TrialResult {
        let clock = ContinuousClock()
        let started = clock.now
        let request = SynthesisRequest(prompt: entry.prompt, name: Self.extensionName(entry, trial: trial),
                                       attach: true, maxAttempts: maxAttempts)
        let report = await loop.run(request, taskID: "eval-\(entry.id)-\(trial)")
        let verdict = Self.verdict(report)
        var status = BehaviourStatus.notRun
        var output = ""
        if verdict == .passedAttached, !report.extension.id.isEmpty {
            (status, output) = await judge(entry, extensionID: report.extension.id)
            await agent.detach(id: report.extension.id)
        }
        let timings = report.attempts.map { attempt in
            attempt.timings.map { StageSeconds(stage: Self.stageName($0.stage), seconds: $0.seconds) }
        }
        return TrialResult(
            id: entry.id, trial: trial, mode: mode, verdict: verdict, attempts: report.attempts.count,
            stageSeconds: Self.summed(timings), attemptTimings: timings,
            promptTokens: report.attempts.map { Int($0.promptTokens) }.reduce(0, +),
            completionTokens: report.attempts.map { Int($0.completionTokens) }.reduce(0, +),
            totalSeconds: (clock.now - started).seconds, behaviour: status, output: output,
            program: report.program,
            note: report.note,
            attemptErrors: report.attempts.map { $0.errors.map(\.message).joined(separator: "; ") })
    }

    func reference(_ entry: EvalEntry, trial: Int) async -> TrialResult {
        let clock = ContinuousClock()
        let started = clock.now
        var verdict = EvalVerdict.notPassed
        var status = BehaviourStatus.notRun
        var output = ""
        var note = ""
        var attachSeconds = 0.0
        if entry.referenceProgram.isEmpty {
            note = "the entry has no reference program"
        } else {
            do {
                let attached = try await agent.attach(name: Self.extensionName(entry, trial: trial),
                                                      program: entry.referenceProgram, prompt: entry.prompt)
                attachSeconds = (clock.now - started).seconds
                verdict = attached.state == .attached ? .passedAttached : .kernelRejected
                if verdict == .passedAttached {
                    (status, output) = await judge(entry, extensionID: attached.id)
                }
                await agent.detach(id: attached.id)
            } catch {
                attachSeconds = (clock.now - started).seconds
                verdict = .kernelRejected
                note = "\(error)"
            }
        }
        let timings = [[StageSeconds(stage: "attach", seconds: attachSeconds)]]
        return TrialResult(id: entry.id, trial: trial, mode: mode, verdict: verdict, attempts: 1,
                           stageSeconds: timings[0], attemptTimings: timings, promptTokens: 0, completionTokens: 0,
                           totalSeconds: (clock.now - started).seconds, behaviour: status, output: output,
                           program: entry.referenceProgram, note: note)
    }

    func judge(_ entry: EvalEntry, extensionID: String) async -> (BehaviourStatus, String) {
        guard entry.hasBehaviourCheck else { return (.notRun, "") }
        do {
            let result = try await behaviour.run(entry: entry, extensionID: extensionID, agent: agent)
            if result.passed { return (.passed, result.output) }
            return (entry.triggerOptional ? .inconclusive : .failed, result.output)
        } catch {
            return (.notRun, "\(error)")
        }
    }

    /// Ken's verdict from a synthesis report. A task whose last attempt reached the kernel stage
    /// and failed there had passed every check of Ken's own: the kernel refused it.
    public static func verdict(_ report: Ken_V1_SynthesisReport) -> EvalVerdict {
        if report.passed { return report.attached ? .passedAttached : .kernelRejected }
        guard let last = report.attempts.last else { return .notPassed }
        if last.timings.contains(where: { $0.stage == .attach || $0.stage == .kernelVerify }) { return .kernelRejected }
        return .notPassed
    }

    static func extensionName(_ entry: EvalEntry, trial: Int) -> String {
        let safe = entry.id.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
        return "eval-\(String(safe).prefix(40))-\(trial)-\(UUID().uuidString.prefix(4).lowercased())"
    }

    static func summed(_ attempts: [[StageSeconds]]) -> [StageSeconds] {
        var order: [String] = []
        var sums: [String: Double] = [:]
        for entry in attempts.joined() {
            if sums[entry.stage] == nil { order.append(entry.stage) }
            sums[entry.stage, default: 0] += entry.seconds
        }
        return order.map { StageSeconds(stage: $0, seconds: sums[$0] ?? 0) }
    }

    static func stageName(_ stage: Ken_V1_Stage) -> String {
        switch stage {
        case .prompt: "prompt"
        case .llm: "llm"
        case .parse: "parse"
        case .resolve: "resolve"
        case .comprehend: "comprehend"
        case .symbolicVerify: "symbolic-verify"
        case .kernelVerify: "kernel-verify"
        case .attach: "attach"
        case .done: "done"
        default: "other"
        }
    }
}
