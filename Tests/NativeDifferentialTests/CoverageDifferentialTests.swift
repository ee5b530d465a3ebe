import Bench
import Foundation
import XCTest

/// The corpus and the Debian tool scripts under one generic trigger (`DifferentialPrograms
/// .genericTrigger`), natively and under bpftrace at once, then issue 16's coverage figure over
/// corpus + eval references + tool scripts that resolve here.
///
/// Asserted: at least 90% of the programs that resolve and load here run natively. Printed:
/// the coverage figures (issue 16's target: ≥ 90% with output equal to bpftrace's, or as close
/// as two bpftrace runs come to each other for programs that watch the whole machine), and,
/// as KNOWN DIFFERENCES, every program below that line with the reason — the generator's and
/// runtime's gaps, for their owners.
final class CoverageDifferentialTests: DifferentialTestCase {
    func testCorpusEvalAndToolsRunNativelyLikeBpftrace() async throws {
        let harness = try makeHarness()
        defer { harness.close() }
        let root = Self.repositoryRoot
        let programs = DifferentialPrograms.corpus(directory: root.appendingPathComponent("corpus/examples"))
            + DifferentialPrograms.eval(path: root.appendingPathComponent("eval/prompts.jsonl").path).map(\.program)
            + DifferentialPrograms.tools()
        let coverage = await DifferentialCoverage.run(programs, harness: harness)
        print("COVERAGE\n" + coverage.render())
        // Every way the native side falls short of bpftrace is a named known difference (the
        // generator's and runtime's gaps and bugs, listed for their owners), not a failure here.
        for entry in coverage.entries {
            guard let result = entry.result else { continue }
            switch result.native {
            case .runtimeFailed, .compileFailed:
                // The head says what failed; a verifier log's last lines say why.
                let reason = result.native.reason
                let bpftrace = if case .success = result.bpftrace { "bpftrace runs it" } else { "bpftrace fails too" }
                recordKnownDifference(result.name, "\(result.native.label) (\(bpftrace)): "
                                      + (reason.count <= 1200 ? reason : "\(reason.prefix(500))\n…\n\(reason.suffix(700))"))
            case .unsupported:
                recordKnownDifference(result.name, "runs on bpftrace: \(result.native.reason)")
            case .ran:
                if let agreement = result.agreement, !result.matchesBpftrace {
                    recordKnownDifference(result.name, "output \(agreement.rawValue) to bpftrace's (bpftrace against itself: "
                                          + "\(result.bpftraceSelfAgreement?.rawValue ?? "not measured")):\n\(result.difference)")
                }
            case .unresolved:
                break
            }
        }
        let all = coverage.counts(nil)
        // What must hold whatever the gaps: the programs bpftrace can run here load and run
        // natively.
        let runnable = all.resolved - all.neitherRuns
        XCTAssertGreaterThanOrEqual(Double(all.ranNatively) / Double(max(runnable, 1)), 0.9,
                                    "\(all.ranNatively) of \(runnable) programs that run here run natively")
        XCTAssertGreaterThan(coverage.counts(nil).resolved, 0, "some programs resolve on this kernel")
    }
}
