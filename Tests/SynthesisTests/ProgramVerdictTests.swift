import KendCore
import KenClient
import Pipeline
import KenProto
import Synthesis
import TestSupport
import XCTest

/// PROVEN needs a proven, non-vacuous assert tied to the request; everything else is CHECKED,
/// with the reason, and the word "verified" is never the headline.
final class ProgramVerdictTests: XCTestCase {
    func assertVerdict(_ text: String, _ verdict: Ken_V1_Verdict, vacuous: Bool = false,
                       by claimant: Ken_V1_ClaimedBy) -> Ken_V1_AssertVerdict {
        Ken_V1_AssertVerdict.with {
            $0.text = text
            $0.verdict = verdict
            $0.vacuous = vacuous
            $0.claimedBy = claimant
            $0.line = 3
            $0.column = 5
        }
    }

    func testNoProverNoAssertAndUnresolvedAreChecked() {
        let none = ProgramVerdict.judge(proof: nil)
        XCTAssertEqual(none.kind, .checked)
        XCTAssertTrue(none.unprovenReason.contains("not run"), none.unprovenReason)

        let empty = ProgramVerdict.judge(proof: ProofOutcome(verdict: .unknown, asserts: [], warnings: [], feedback: "x"),
                                         notes: ["no LLM configured: only contract assumes were added"])
        XCTAssertEqual(empty.kind, .checked)
        XCTAssertTrue(empty.unprovenReason.contains("no assert") && empty.unprovenReason.contains("no LLM"),
                      empty.unprovenReason)

        let unresolved = ProgramVerdict.judge(proof: ProofOutcome(
            verdict: .unknown, asserts: [], warnings: [], feedback: "f", couldNotCheck: "no field args->nope"))
        XCTAssertEqual(unresolved.kind, .checked)
        XCTAssertTrue(unresolved.unprovenReason.hasPrefix("UNKNOWN:") && unresolved.unprovenReason.contains("args->nope"),
                      unresolved.unprovenReason)
    }

    func testOnlyANonVacuousProofClaimedForTheRequestIsProven() {
        func judge(_ asserts: [Ken_V1_AssertVerdict]) -> ProgramVerdict {
            ProgramVerdict.judge(proof: ProofOutcome(verdict: .verified, asserts: asserts, warnings: [], feedback: ""))
        }
        XCTAssertEqual(judge([assertVerdict("assert(1 == 1)", .verified, vacuous: true, by: .llm)]).kind, .checked)
        XCTAssertEqual(judge([assertVerdict("assert(pid > 0)", .verified, by: .contract)]).kind, .checked)
        XCTAssertEqual(judge([assertVerdict("assert(comm == \"vim\")", .verified, by: .unspecified)]).kind, .checked,
                       "an assert nobody is known to have claimed proves nothing about the request")
        let proven = judge([assertVerdict("assert(pid > 0)", .verified, by: .contract),
                            assertVerdict("assert(comm == \"vim\")", .verified, by: .prompt)])
        XCTAssertEqual(proven.kind, .proven)
        XCTAssertEqual(proven.provenAsserts.map(\.text), ["assert(comm == \"vim\")"])
        XCTAssertEqual(proven.provenAsserts.first?.claimedBy, .prompt)
        XCTAssertEqual(proven.proto, .proven)
    }

    func testHeadlinesNeverSayVerified() {
        var report = Ken_V1_SynthesisReport()
        report.taskID = "t"
        report.passed = true
        ProgramVerdict.checked("the program has no assert tied to the request").apply(to: &report)
        let checked = ReportFormatting.text(report)
        XCTAssertTrue(checked.contains("checked (nothing proven)"), checked)
        XCTAssertTrue(checked.contains("not proven: the program has no assert"), checked)
        XCTAssertFalse(checked.lowercased().contains("verified"), checked)

        ProgramVerdict(kind: .proven, provenAsserts: [Ken_V1_ProvenAssert.with {
            $0.text = "assert(comm == \"vim\")"; $0.line = 2; $0.column = 3; $0.claimedBy = .prompt
        }]).apply(to: &report)
        report.attached = true
        let proven = ReportFormatting.text(report)
        XCTAssertTrue(proven.contains("proven, attached"), proven)
        XCTAssertTrue(proven.contains("claimed by the prompt"), proven)
        let json = ReportFormatting.json(report).render()
        XCTAssertTrue(json.contains("\"verdict\": \"proven\"") && json.contains("\"proven_asserts\""), json)
        XCTAssertFalse(json.contains("\"verified\""), json)
    }

    func testRequireProofRefusesACheckedProgramWithTheReason() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("require-proof")
        let unproven = "tracepoint:syscalls:sys_enter_openat /comm == \"cat\"/ { printf(\"%s\\n\", str(args->filename)); }"
        let server = try ScriptedLLMServer(script: [.completion(Fixtures.reply(unproven))])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        let refused = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = "print every file opened by cat"
            $0.maxAttempts = 1
            $0.requireProof = true
        }) { _ in }
        XCTAssertFalse(refused.passed)
        XCTAssertFalse(refused.attached)
        let text = ReportFormatting.text(refused)
        XCTAssertTrue(text.contains("--require-proof") && text.contains("nothing was proven"), text)
        XCTAssertFalse(refused.unprovenReason.isEmpty)
    }

    func testTheProgramsOwnProvenAssertMakesItProvenWithoutAnAnnotator() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("own-assert")
        let program = """
            tracepoint:syscalls:sys_enter_openat /comm == "cat"/ {
              assert(comm == "cat");
              printf("%s\\n", str(args->filename));
            }
            """
        let server = try ScriptedLLMServer(script: [.completion(Fixtures.reply(program))])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = "print every file opened by cat"
            $0.requireProof = true
        }) { _ in }
        XCTAssertTrue(report.passed, ReportFormatting.text(report))
        XCTAssertEqual(report.verdict, .proven, ReportFormatting.text(report))
        XCTAssertEqual(report.provenAsserts.map(\.claimedBy), [.program])
        XCTAssertTrue(report.unprovenReason.isEmpty)
    }
}
