import Evaluation
import XCTest

/// Every reference program of the shipped dataset attaches on this kernel through a real
/// ken-agent and passes its own behaviour check: the checks can tell a working program apart,
/// so a failure in a synthesis run is the synthesized program's, not the dataset's.
final class ReferenceBehaviourTests: XCTestCase {
    func testEveryReferenceProgramPassesItsOwnBehaviourCheck() async throws {
        try EvalFixtures.requireKernel()
        let entries = try EvalDataset.load(path: EvalFixtures.datasetPath)
        let agent = try await EvalAgent.inProcess()
        let runner = EvalRunner(mode: .reference, behaviour: BehaviourCheck(wait: .seconds(3)), pipeline: nil, agent: agent)
        let started = Date()
        let results = try await runner.run(entries)
        await agent.shutdown()
        let elapsed = Date().timeIntervalSince(started)

        XCTAssertEqual(results.count, entries.count)
        let optional = Set(entries.filter(\.triggerOptional).map(\.id))
        for result in results {
            XCTAssertEqual(result.verdict, .passedAttached, "\(result.id) did not attach: \(result.note)")
            if optional.contains(result.id) {
                XCTAssertNotEqual(result.behaviour, .failed, result.id)
            } else {
                XCTAssertEqual(result.behaviour, .passed, "\(result.id): output was \(result.output)")
            }
        }
        let summary = EvalSummary(mode: .reference, results: results)
        XCTAssertEqual(summary.falsePositives, 0)
        XCTAssertEqual(summary.falseNegatives, 0)
        print("reference behaviour checks: \(summary.accurate)/\(summary.trials) passed, \(summary.unchecked) unchecked, \(String(format: "%.0f", elapsed)) s")
        XCTAssertLessThan(elapsed, 180, "the reference run must stay within about three minutes")
    }
}
