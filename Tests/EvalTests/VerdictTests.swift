import Evaluation
import KenProto
import XCTest

/// How a synthesis report becomes a verdict, and how trials add up to the paper's rates.
final class VerdictTests: XCTestCase {
    static func attempt(_ stages: [Ken_V1_Stage], error: String? = nil) -> Ken_V1_Attempt {
        var attempt = Ken_V1_Attempt()
        attempt.timings = stages.map { stage in Ken_V1_StageTiming.with { $0.stage = stage; $0.seconds = 0.25 } }
        if let error { attempt.errors = [Ken_V1_Diagnostic.with { $0.message = error }] }
        return attempt
    }

    func testVerdictFollowsTheStageTheLastAttemptReached() {
        var attached = Ken_V1_SynthesisReport()
        attached.passed = true
        attached.attached = true
        attached.attempts = [Self.attempt([.prompt, .llm, .parse, .attach])]
        XCTAssertEqual(EvalRunner.verdict(attached), .passedAttached)

        var rejected = Ken_V1_SynthesisReport()
        rejected.attempts = [Self.attempt([.prompt, .llm, .parse], error: "syntax"),
                             Self.attempt([.prompt, .llm, .parse, .comprehend, .symbolicVerify, .attach], error: "EINVAL")]
        XCTAssertEqual(EvalRunner.verdict(rejected), .kernelRejected)

        var refused = Ken_V1_SynthesisReport()
        refused.attempts = [Self.attempt([.prompt, .llm, .parse, .attach], error: "EINVAL"),
                            Self.attempt([.prompt, .llm, .parse, .comprehend, .symbolicVerify], error: "VIOLATED")]
        XCTAssertEqual(EvalRunner.verdict(refused), .notPassed, "the last attempt decides")
        XCTAssertEqual(EvalRunner.verdict(Ken_V1_SynthesisReport()), .notPassed)
    }

    func testSummaryRatesAddUpLikeThePapers() {
        func trial(_ id: String, _ verdict: EvalVerdict, _ behaviour: BehaviourStatus, attempts: Int) -> TrialResult {
            TrialResult(id: id, trial: 1, mode: .full, verdict: verdict, attempts: attempts,
                        stageSeconds: [StageSeconds(stage: "llm", seconds: Double(attempts))], attemptTimings: [],
                        promptTokens: 10, completionTokens: 5, totalSeconds: 2, behaviour: behaviour, output: "",
                        program: "", note: "")
        }
        let results = [
            trial("a", .passedAttached, .passed, attempts: 1),
            trial("b", .passedAttached, .failed, attempts: 2),
            trial("c", .kernelRejected, .notRun, attempts: 3),
            trial("d", .notPassed, .notRun, attempts: 3),
            trial("e", .passedAttached, .inconclusive, attempts: 1),
        ]
        let summary = EvalSummary(mode: .full, results: results)
        XCTAssertEqual(summary.accurate, 1)
        XCTAssertEqual(summary.falsePositives, 1)
        XCTAssertEqual(summary.falseNegatives, 2, "kernel-rejected and not-passed are both no verified program")
        XCTAssertEqual(summary.unchecked, 1, "an optional trigger that did not fire is not a false positive")
        XCTAssertEqual(summary.accuracy + summary.falsePositiveRate + summary.falseNegativeRate
                       + Double(summary.unchecked) / Double(summary.trials), 1, accuracy: 1e-9)
        XCTAssertEqual(summary.meanAttempts, 2, accuracy: 1e-9)
        XCTAssertEqual(summary.stageMeans, [StageSeconds(stage: "llm", seconds: 2)])
        XCTAssertEqual(summary.promptTokens, 50)
        XCTAssertTrue(EvalReport.summaryText(summary).contains("false positives 20.0% (1"), EvalReport.summaryText(summary))
    }
}
