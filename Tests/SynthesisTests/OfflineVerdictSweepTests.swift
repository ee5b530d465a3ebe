import Comprehension
import Contracts
import ExampleStore
import Foundation
import KendCore
import KenClient
import KenProto
import KernelInfo
import Pipeline
import Synthesis
import XCTest

/// Issue #13's "done when": every corpus example's prompts and every evaluation prompt go
/// through the offline path (no LLM: the example library, the front end, the Comprehension
/// Engine on the kernel contracts, the Symbolic Verifier), and no result is called proven —
/// or verified — without a proven, non-vacuous assert tied to the request. The kernel gate is
/// left out: it decides whether a program loads, not what the report may claim about it.
final class OfflineVerdictSweepTests: XCTestCase {
    /// Every prompt of the shipped corpus and of both evaluation files.
    static func prompts(store: ExampleStore) async throws -> [(origin: String, prompt: String)] {
        var prompts: [(String, String)] = []
        for example in await store.all() where example.origin == .corpus {
            for prompt in example.prompts { prompts.append(("corpus \(example.id)", prompt)) }
        }
        for file in ["eval/prompts.jsonl", "eval/library-prompts.jsonl"] {
            let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                if let prompt = object["prompt"] as? String { prompts.append(("\(file) \(object["id"] ?? "")", prompt)) }
            }
        }
        return prompts
    }

    /// The offline pipeline as kend assembles it (library, front end, Comprehension on the
    /// contracts without an LLM, Symbolic Verifier), less the kernel gate.
    static func offlineEngine(state: URL) throws -> (engine: SynthesisEngine, store: ExampleStore) {
        let kernel = try Fixtures.requireTracefs()
        let store = try Fixtures.store(state: state)
        let pipeline = try SynthesisPipeline.assemble(PipelineConfiguration(
            kernel: kernel, examples: store, contracts: .open(try Fixtures.contracts()),
            annotationLog: AnnotationLog(stateDirectory: state.path)))
        let engine = SynthesisEngine(pipeline: pipeline, cache: nil,
                                     tasks: TaskStore(directory: state.appendingPathComponent("tasks")),
                                     kernelRelease: kernel.release, corpusVersion: "offline")
        return (engine, store)
    }

    /// "files opened by vim" answered from the example for cat: the process name is filled into
    /// the example's syntax tree, and the assert the request itself states proves it.
    func testTheRequestsAssertProvesTheFilledParameter() async throws {
        let state = try Fixtures.temporaryDirectory("filled")
        defer { try? FileManager.default.removeItem(at: state) }
        let (engine, _) = try Self.offlineEngine(state: state)
        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = "Show me the files opened by nginx"
        }) { _ in }
        let text = ReportFormatting.text(report)
        XCTAssertTrue(report.passed, text)
        XCTAssertTrue(report.program.contains("comm == \"nginx\""), text)
        XCTAssertFalse(report.program.contains("\"cat\""), text)
        XCTAssertEqual(report.verdict, .proven, text)
        XCTAssertTrue(report.provenAsserts.contains { $0.claimedBy == .prompt && $0.text.contains("nginx") }, text)
    }

    func testNoOfflineResultIsCalledProvenWithoutAProvenNonVacuousAssert() async throws {
        let state = try Fixtures.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: state) }
        let (engine, store) = try Self.offlineEngine(state: state)
        let verifiedWord = try NSRegularExpression(pattern: "\\bverified\\b", options: [.caseInsensitive])
        func saysVerified(_ text: String) -> Bool {
            verifiedWord.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }

        var counts = (prompts: 0, proven: 0, checked: 0, failed: 0, declined: 0)
        for (origin, prompt) in try await Self.prompts(store: store) {
            counts.prompts += 1
            let events = EventLog()
            let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with { $0.prompt = prompt }) { event in
                events.append(Ken_V1_SynthesisEventSnapshot(attempt: event.attempt, stage: "\(event.stage)", message: event.message))
            }
            let text = ReportFormatting.text(report)
            let context = "\(origin): \(prompt)\n\(text)"
            XCTAssertFalse(saysVerified(text), "the report says verified: \(context)")
            XCTAssertFalse(events.events.contains(where: { saysVerified($0.message) }), "progress says verified: \(context)")
            guard report.passed else {
                XCTAssertNotEqual(report.verdict, .proven, context)
                XCTAssertTrue(report.provenAsserts.isEmpty, context)
                if report.note.contains("no example in the library does") || report.note.contains("no further example") {
                    counts.declined += 1
                    XCTAssertFalse(report.needsHint, "a library decline advises no hint: \(context)")
                    XCTAssertFalse(text.contains("--hint"), context)
                    XCTAssertTrue(report.note.contains("Nearest examples:"), context)
                } else {
                    counts.failed += 1
                }
                continue
            }
            switch report.verdict {
            case .proven:
                counts.proven += 1
                XCTAssertFalse(report.provenAsserts.isEmpty, "proven without a proven assert: \(context)")
                for proven in report.provenAsserts {
                    let backing = report.verdicts.filter { $0.line == proven.line && $0.column == proven.column && $0.text == proven.text }
                    XCTAssertTrue(backing.contains(where: ProgramVerdict.isProof),
                                  "\(proven.text) is not a Z3-proven, non-vacuous assert tied to the request: \(context)")
                }
                XCTAssertTrue(ReportFormatting.headline(report).hasPrefix("proven"), context)
            case .checked:
                counts.checked += 1
                XCTAssertTrue(report.provenAsserts.isEmpty, context)
                XCTAssertFalse(report.unprovenReason.isEmpty, "checked says why nothing was proven: \(context)")
                XCTAssertTrue(ReportFormatting.headline(report).hasPrefix("checked"), context)
                XCTAssertFalse(report.verdicts.contains(where: ProgramVerdict.isProof),
                               "a proof was found but the verdict is checked: \(context)")
            default:
                XCTFail("a passed report carries no verdict: \(context)")
            }
        }
        print("offline sweep: \(counts.prompts) prompts: \(counts.proven) proven, \(counts.checked) checked, "
              + "\(counts.declined) declined by the library, \(counts.failed) failed a check")
        XCTAssertEqual(counts.prompts, counts.proven + counts.checked + counts.declined + counts.failed)
        XCTAssertGreaterThan(counts.proven + counts.checked, 0, "the sweep answered something")
    }
}
