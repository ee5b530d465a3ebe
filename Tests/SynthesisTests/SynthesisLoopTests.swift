import ExampleStore
import Foundation
import KendCore
import KenClient
import Pipeline
import KenProto
import LLM
import Synthesis
import TestSupport
import XCTest

/// The attempt loop against a real (scripted) OpenAI-compatible server and the real front end:
/// what goes into each request, when the loop stops, what the report says.
final class SynthesisLoopTests: XCTestCase {
    let valid = """
        tracepoint:syscalls:sys_enter_openat /comm == "cat"/
        {
          printf("%s\\n", str(args->filename));
        }
        """

    func testEveryErrorIsFedBackOldestFirstUntilACandidatePasses() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("loop")
        let server = try ScriptedLLMServer(script: [
            .completion("I would trace openat with bpftrace."),
            .completion(Fixtures.reply("tracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->no_such_field)); }")),
            .completion(Fixtures.reply(valid)),
        ])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: try Fixtures.store(state: state))
        let log = EventLog()
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "print every file opened by cat" }) { event in
            log.append(Ken_V1_SynthesisEventSnapshot(attempt: event.attempt, stage: "\(event.stage)", message: event.message))
        }

        XCTAssertTrue(report.passed, report.note)
        XCTAssertEqual(report.attempts.count, 3)
        XCTAssertEqual(report.origin, .llm)
        XCTAssertTrue(report.program.contains("str(args->filename)"), report.program)
        let requests = server.requests
        XCTAssertEqual(requests.count, 3)
        let first = Fixtures.userText(requests[0])
        XCTAssertFalse(first.contains("Earlier attempts"), "no feedback before the first attempt")
        XCTAssertTrue(first.contains("tracepoint:syscalls:sys_enter_openat"), "the prompter lists probes this kernel has")
        let second = Fixtures.userText(requests[1])
        XCTAssertTrue(second.contains("no ``` fenced code block"), second)
        let third = Fixtures.userText(requests[2])
        guard let noBlock = third.range(of: "no ``` fenced code block"), let unknownField = third.range(of: "no_such_field") else {
            return XCTFail("the third request must carry both earlier errors:\n\(third)")
        }
        XCTAssertLessThan(noBlock.lowerBound, unknownField.lowerBound, "oldest error first")
        XCTAssertTrue(third.contains("attempt-2.bt:1:"), "front-end errors keep their location:\n\(third)")
        XCTAssertTrue(log.events.contains { $0.stage == "done" && ($0.message == "proven" || $0.message == "checked, nothing proven") }, "\(log.events)")
        XCTAssertTrue(log.events.contains { $0.attempt == 2 && $0.message.hasPrefix("failed:") })
    }

    func testAttemptsRunOutThenAHintContinuesTheSameTask() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("hint")
        let broken = Fixtures.reply("tracepoint:syscalls:sys_enter_nosuchcall { printf(\"x\\n\"); }")
        let server = try ScriptedLLMServer(script: [
            .completion(broken), .completion(broken),
            .completion(Fixtures.reply(valid)),
        ])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        let failed = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = "print every file opened by cat"
            $0.maxAttempts = 2
        }) { _ in }
        XCTAssertFalse(failed.passed)
        XCTAssertTrue(failed.needsHint)
        XCTAssertEqual(failed.attempts.count, 2)
        XCTAssertTrue(failed.program.contains("sys_enter_nosuchcall"), "the best candidate is returned")
        XCTAssertTrue(failed.attempts.allSatisfy { !$0.errors.isEmpty })

        let continued = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.taskID = failed.taskID
            $0.hints = ["use sys_enter_openat"]
            $0.maxAttempts = 1
        }) { _ in }
        XCTAssertTrue(continued.passed, continued.note)
        XCTAssertEqual(continued.taskID, failed.taskID)
        let last = Fixtures.userText(server.requests[2])
        XCTAssertTrue(last.contains("use sys_enter_openat"), "the hint reaches the model")
        XCTAssertTrue(last.contains("[attempt 1,") && last.contains("[attempt 2,"), "earlier errors survive:\n\(last)")
        XCTAssertTrue(last.contains("print every file opened by cat"), "the task's prompt is kept")
    }

    func testUnknownTaskAndEmptyPromptAreClearErrors() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("bad")
        let server = try ScriptedLLMServer(script: [])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        do {
            _ = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.taskID = "abcdef0123" }) { _ in }
            XCTFail("an unknown task must be refused")
        } catch {
            XCTAssertTrue("\(error)".contains("no synthesis task abcdef0123"), "\(error)")
        }
        do {
            _ = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "   " }) { _ in }
            XCTFail("an empty prompt must be refused")
        } catch {
            XCTAssertTrue("\(error)".contains("empty"), "\(error)")
        }
        XCTAssertTrue(server.requests.isEmpty)
    }

    func testAnEndpointThatIsDownStopsTheTaskNamingTheEndpoint() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("down")
        let port = try ScriptedLLMServer.closedPort()
        var configuration = LLMConfiguration(baseURL: "http://127.0.0.1:\(port)/v1", model: "m")
        configuration.maxRetries = 0
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try LLMClient(configuration: configuration)),
                                     kernel: kernel, state: state, store: nil)
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "count syscalls by process" }) { _ in }
        XCTAssertFalse(report.passed)
        XCTAssertFalse(report.needsHint, "a hint cannot fix an unreachable endpoint")
        XCTAssertEqual(report.attempts.count, 1, "no further attempts against a dead endpoint")
        XCTAssertTrue(report.note.contains("127.0.0.1:\(port)"), report.note)
    }

    func testAVerifiedSynthesisIsCachedAndReusedWithoutTheLLM() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("cache")
        let server = try ScriptedLLMServer(script: [.completion(Fixtures.reply(valid))])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        let first = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "Print every file opened by cat" }) { _ in }
        XCTAssertTrue(first.passed, ReportFormatting.text(first))
        XCTAssertEqual(first.origin, .llm)
        let second = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "print every  file opened by cat" }) { _ in }
        XCTAssertTrue(second.passed, second.note)
        XCTAssertEqual(second.origin, .cache)
        XCTAssertEqual(second.program, first.program)
        XCTAssertEqual(server.requests.count, 1, "the second host asks no LLM")
    }
}
