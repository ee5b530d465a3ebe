import ExampleStore
import Foundation
import KendCore
import KenClient
import Pipeline
import KenProto
import Synthesis
import XCTest

/// The offline default: no LLM configured, answers come from the verified example library.
final class OfflineLibraryTests: XCTestCase {
    func testAPromptCloseToAnExampleIsAnsweredFromTheLibraryAndSaysSo() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("library")
        let store = try Fixtures.store(state: state)
        guard let sample = await store.all().first(where: { $0.origin == .corpus && $0.probes.allSatisfy { $0.hasPrefix("tracepoint:") } }) else {
            throw XCTSkip("the corpus has no tracepoint example")
        }
        let engine = Fixtures.engine(source: LibrarySource(store: store), kernel: kernel, state: state, store: store, model: "")
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = sample.prompt }) { _ in }
        XCTAssertTrue(report.passed, "\(report.note)\n\(ReportFormatting.text(report))")
        XCTAssertEqual(report.origin, .library)
        XCTAssertGreaterThan(report.similarity, 0.5)
        XCTAssertTrue(report.note.contains("no LLM is configured"), report.note)
        XCTAssertFalse(report.program.isEmpty)

        // One source serves every task: a second task starts from the closest example again.
        let again = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = sample.prompt }) { _ in }
        XCTAssertEqual(again.program, report.program)
        XCTAssertEqual(again.similarity, report.similarity, accuracy: 1e-9, "the same example, scored again")
    }

    func testAnUnrelatedPromptIsDeclinedHonestly() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("declined")
        let store = try Fixtures.store(state: state)
        let engine = Fixtures.engine(source: LibrarySource(store: store, threshold: 0.6), kernel: kernel, state: state,
                                     store: store, model: "")
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = "bake a chocolate cake for the kernel team" }) { _ in }
        XCTAssertFalse(report.passed)
        XCTAssertFalse(report.needsHint)
        XCTAssertTrue(report.note.contains("no LLM is configured") && report.note.contains("KEN_LLM_URL"), report.note)
    }
}

/// After a failed attempt the library offers only another example that does the task, never
/// the next one by word similarity (issue #13: md flush fell through to a print of every open).
final class LibraryFallThroughTests: XCTestCase {
    func testASecondAttemptDeclinesWhenNoOtherExampleDoesTheTask() async throws {
        let state = try Fixtures.temporaryDirectory("fallthrough")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try Fixtures.store(state: state)
        let source = LibrarySource(store: store)
        let request = SynthesisRequest(prompt: "Which files does vim open? Print each path")
        let first = try await source.propose(messages: [], request: request, attempt: 1)
        guard case .library(let exampleID, _) = first.origin else { return XCTFail("\(first.origin)") }
        XCTAssertEqual(exampleID, "file-open-by-command")
        XCTAssertTrue(first.program.contains("\"vim\""), first.program)
        do {
            let second = try await source.propose(messages: [], request: request, attempt: 2)
            XCTFail("fell through to \(second.origin)")
        } catch let declined as LibraryDeclined {
            XCTAssertEqual(declined.failedAttempts, 1)
            let text = declined.description
            XCTAssertTrue(text.contains("no further example"), text)
            XCTAssertEqual(text.components(separatedBy: "\n  - ").count - 1, 3, "three suggestions: \(text)")
            XCTAssertFalse(text.lowercased().contains("hint"), text)
        }
    }

    /// The library's example passed Ken's checks but the kernel refused it and the attempts ran
    /// out: without an LLM the same examples would come again, so no hint is advised.
    func testAttemptsRunningOutOnLibraryAnswersAdviseNoHint() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("no-hint")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try Fixtures.store(state: state)
        let engine = Fixtures.engine(source: LibrarySource(store: store), kernel: kernel, state: state, store: store,
                                     model: "", gate: RefusingKernel())
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = "Which files does vim open? Print each path"
            $0.maxAttempts = 1
        }) { _ in }
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.origin, .library)
        XCTAssertFalse(report.needsHint, report.note)
        XCTAssertFalse(ReportFormatting.text(report).contains("--hint"), ReportFormatting.text(report))
    }

    func testADeclineNamesTheThreeNearestExamplesAndNoHint() async throws {
        let state = try Fixtures.temporaryDirectory("decline-list")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try Fixtures.store(state: state)
        do {
            _ = try await LibrarySource(store: store).propose(messages: [], request: SynthesisRequest(prompt: "Trace md flush events on the software RAID device"), attempt: 1)
            XCTFail("the library answered a task no example does")
        } catch let declined as LibraryDeclined {
            XCTAssertEqual(declined.decision.nearest.count, 3)
            for near in declined.decision.nearest { XCTAssertTrue(declined.description.contains(near.example.id), declined.description) }
            XCTAssertTrue(declined.description.contains("KEN_LLM_URL"), declined.description)
            XCTAssertFalse(declined.description.lowercased().contains("hint"), declined.description)
        }
    }
}

/// A kernel that refuses every program, as a verifier rejection would.
struct RefusingKernel: KernelGate {
    func submit(_ submission: KernelSubmission) async throws -> Result<Ken_V1_Extension?, StageFailure> {
        .failure(StageFailure(stage: .kernelVerify, feedback: "kernel verifier: rejected (test)"))
    }
}

/// Kernel verifier logs are summarised into a cause and a hint.
final class KernelRejectionTests: XCTestCase {
    func testVerifierMessagesAreClassified() {
        let loop = KernelRejection.summarise("""
            0: R1=ctx() R10=fp0
            ; for (;;) @ x.bpf.c:5
            5: (05) goto pc-1
            infinite loop detected at insn 5
            processed 6 insns (limit 1000000)
            """)
        XCTAssertEqual(loop.cause, .unboundedLoop)
        XCTAssertEqual(loop.evidence, "infinite loop detected at insn 5")
        XCTAssertEqual(KernelRejection.summarise("R0 invalid mem access 'scalar'").cause, .invalidMemoryAccess)
        XCTAssertEqual(KernelRejection.summarise("invalid access to map value, value_size=8 off=8 size=8").cause, .invalidMemoryAccess)
        XCTAssertEqual(KernelRejection.summarise("program of this type cannot use helper bpf_probe_write_user#36").cause, .helperNotAllowed)
        XCTAssertEqual(KernelRejection.summarise("BPF program is too large. Processed 1000001 insn").cause, .programTooComplex)
        XCTAssertEqual(KernelRejection.summarise("R2 !read_ok").cause, .uninitializedRegister)
        XCTAssertEqual(KernelRejection.summarise("stdin:1:1-30: ERROR: tracepoint not found: syscalls:sys_enter_nosuch").cause, .missingProbe)
        let other = KernelRejection.summarise("something nobody has seen")
        XCTAssertEqual(other.cause, .other)
        XCTAssertTrue(other.rendered.hasPrefix("kernel verifier: rejected by the kernel verifier"))
    }
}
