import Evaluation
import Foundation
import KernelInfo
import LLM
import TestSupport
import XCTest

/// ken-eval's runner end to end against a scripted OpenAI-compatible server on 127.0.0.1, the
/// real front end, contracts, symbolic verifier, an in-process ken-agent and the real kernel:
/// one prompt is answered correctly, one never verifies, one verifies but misbehaves.
final class ScriptedRunnerTests: XCTestCase {
    static func reply(_ program: String) -> String {
        "Here is the program:\n\n```bpftrace\n\(program)\n```\n"
    }

    func testSummaryCountsAccurateFalseNegativeAndFalsePositive() async throws {
        try EvalFixtures.requireKernel()
        let correct = EvalEntry(
            id: "correct", prompt: "Whenever the uname tool starts, print UNAME-SEEN and its pid",
            trigger: "uname >/dev/null", expect: #"UNAME-SEEN \d+"#, tags: ["processes"])
        let broken = EvalEntry(
            id: "never-verifies", prompt: "Print a line whenever the frobnicator fires",
            trigger: "true", expect: "frob", tags: ["made-up"])
        let wrong = EvalEntry(
            id: "verifies-but-wrong", prompt: "Tell me whenever something opens /etc/hostname",
            trigger: "cat /etc/hostname >/dev/null", expect: "hostname opened", tags: ["files"])
        let server = try ScriptedLLMServer(script: [
            .completion(Self.reply(#"tracepoint:sched:sched_process_exec /comm == "uname"/ { printf("UNAME-SEEN %d\n", pid); }"#)),
            .completion(Self.reply(#"tracepoint:frobnicator:fires { printf("frob\n"); }"#)),
            .completion(Self.reply(#"tracepoint:frobnicator:fired { printf("frob\n"); }"#)),
            // Verifies and attaches, but watches the wrong file: the behaviour check fails.
            .completion(Self.reply(#"tracepoint:syscalls:sys_enter_openat /str(args->filename) == "/etc/ken-no-such-file"/ { printf("hostname opened\n"); }"#)),
        ])
        defer { server.stop() }
        var configuration = LLMConfiguration(baseURL: server.baseURL, model: "scripted-model")
        configuration.maxRetries = 0
        configuration.totalTimeout = 10
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("ken-eval-test-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let pipeline = try EvalSetup.pipeline(llm: configuration, stateDirectory: state,
                                              corpusDirectory: EvalFixtures.corpusPath, annotateWithLLM: false)
        let agent = try await EvalAgent.inProcess()
        let runner = EvalRunner(mode: .full, trials: 1, maxAttempts: 2, behaviour: BehaviourCheck(wait: .seconds(2)),
                                pipeline: pipeline, agent: agent)
        let results = try await runner.run([correct, broken, wrong])
        await agent.shutdown()

        XCTAssertEqual(server.requests.count, 4, "one synthesis for the first and last prompts, two for the broken one")
        XCTAssertEqual(results.map(\.verdict), [.passedAttached, .notPassed, .passedAttached], "\(results.map(\.note))")
        XCTAssertEqual(results.map(\.behaviour), [.passed, .notRun, .failed], "\(results.map(\.output))")
        XCTAssertEqual(results.map(\.outcome), [.accurate, .falseNegative, .falsePositive])
        XCTAssertEqual(results.map(\.attempts), [1, 2, 1])
        XCTAssertTrue(results[0].output.contains("UNAME-SEEN"), results[0].output)
        // Stage times come from the report's timings, tokens from the scripted usage.
        let stages = Set(results[0].stageSeconds.map(\.stage))
        XCTAssertTrue(stages.isSuperset(of: ["prompt", "llm", "parse", "comprehend", "symbolic-verify", "attach"]), "\(stages)")
        XCTAssertEqual(results[1].promptTokens, 22, "11 prompt tokens per scripted reply, two attempts")
        XCTAssertEqual(results[1].completionTokens, 44)

        let summary = EvalSummary(mode: .full, results: results)
        XCTAssertEqual(summary.trials, 3)
        XCTAssertEqual(summary.passedAttached, 2)
        XCTAssertEqual(summary.notPassed, 1)
        XCTAssertEqual(summary.accurate, 1)
        XCTAssertEqual(summary.falsePositives, 1)
        XCTAssertEqual(summary.falseNegatives, 1)
        XCTAssertEqual(summary.accuracy, 1.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(summary.falsePositiveRate, 1.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(summary.falseNegativeRate, 1.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(summary.meanAttempts, 4.0 / 3.0, accuracy: 1e-9)

        // The JSON lines hold every trial and the summary.
        let lines = EvalReport.jsonLines(results, summary: summary).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[1].contains("\"verdict\":\"not-passed\""), String(lines[1]))
        XCTAssertTrue(lines[3].hasPrefix("{\"summary\":"), String(lines[3]))
    }

    func testSingleShotUsesOneAttemptAndNoFeedback() async throws {
        try EvalFixtures.requireKernel()
        let entry = EvalEntry(id: "broken", prompt: "Print a line whenever the frobnicator fires",
                              trigger: "true", expect: "frob")
        let server = try ScriptedLLMServer(script: [
            .completion(Self.reply(#"tracepoint:frobnicator:fires { printf("frob\n"); }"#)),
        ])
        defer { server.stop() }
        var configuration = LLMConfiguration(baseURL: server.baseURL, model: "scripted-model")
        configuration.maxRetries = 0
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("ken-eval-test-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let pipeline = try EvalSetup.pipeline(llm: configuration, stateDirectory: state,
                                              corpusDirectory: EvalFixtures.corpusPath, annotateWithLLM: false)
        let agent = try await EvalAgent.inProcess()
        let runner = EvalRunner(mode: .singleShot, maxAttempts: 5, pipeline: pipeline, agent: agent)
        let results = try await runner.run([entry])
        await agent.shutdown()
        XCTAssertEqual(results.map(\.attempts), [1])
        XCTAssertEqual(results.map(\.verdict), [.notPassed])
        XCTAssertEqual(server.requests.count, 1)
    }
}
