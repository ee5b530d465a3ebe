import Bench
import Foundation
import XCTest

/// The corpus and the Debian tool scripts under one generic trigger (`DifferentialPrograms
/// .genericTrigger`), natively and under bpftrace at once, then issue 16's coverage figure over
/// corpus + eval references + tool scripts that resolve here.
///
/// Asserted: every program the generator compiles and bpftrace runs here also loads and runs
/// natively (a verifier rejection or runtime failure is a bug), and prints the same maps as
/// bpftrace — or differs no more than two bpftrace runs differ from each other (system-wide
/// programs see the rest of the machine too). The coverage figures (target ≥ 90%) and every
/// program below "equal" are printed.
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
        for entry in coverage.entries {
            guard let result = entry.result else { continue }
            switch result.native {
            case .runtimeFailed, .compileFailed:
                // The head says what failed; a verifier log's last lines say why.
                let reason = result.native.reason
                recordKnownDifference(result.name, "\(result.native.label): "
                                      + (reason.count <= 1200 ? reason : "\(reason.prefix(500))\n…\n\(reason.suffix(700))"))
            case .unsupported:
                recordKnownDifference(result.name, "runs on bpftrace: \(result.native.reason)")
            case .ran, .unresolved:
                break
            }
            if case .runtimeFailed = result.native, case .success = result.bpftrace {
                XCTFail("\(result.name): compiled natively but did not run, while bpftrace runs it: \(result.native.reason.prefix(600))")
            }
            if let agreement = result.agreement, agreement == .different, !result.matchesBpftrace {
                XCTFail("\(result.name): native and bpftrace print different maps (bpftrace against itself: "
                        + "\(result.bpftraceSelfAgreement?.rawValue ?? "not measured")):\n\(result.difference)")
            }
        }
        XCTAssertGreaterThan(coverage.counts(nil).resolved, 0, "some programs resolve on this kernel")
    }
}
