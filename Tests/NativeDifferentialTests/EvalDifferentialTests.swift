import Bench
import Evaluation
import Foundation
import XCTest

/// Every behaviour check of eval/prompts.jsonl whose reference program resolves here: the
/// reference program runs natively and under bpftrace at once, the entry's trigger fires, and
/// the native output must match the entry's `expect` (asserted, as the behaviour check judges
/// an extension). bpftrace's output is compared and every difference listed by name.
final class EvalDifferentialTests: DifferentialTestCase {
    func testBehaviourChecksHoldNativelyAndMatchBpftrace() async throws {
        let harness = try makeHarness()
        defer { harness.close() }
        let entries = DifferentialPrograms.eval(path: Self.repositoryRoot.appendingPathComponent("eval/prompts.jsonl").path)
        XCTAssertFalse(entries.isEmpty, "eval/prompts.jsonl has behaviour checks")
        var checked = 0, equal = 0, resolved = 0
        for (entry, program) in entries {
            let result = await harness.run(program.testCase)
            if case .unresolved = result.native { continue }
            resolved += 1
            guard result.native == .ran else {
                recordKnownDifference(entry.id, "not run natively: \(result.native.label): \(result.native.reason.prefix(400))")
                continue
            }
            checked += 1
            let regex = try NSRegularExpression(pattern: entry.expect)
            let text = result.nativeOutput.printedText
            let passes = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            if entry.triggerOptional, !passes {
                recordKnownDifference(entry.id, "unchecked: the trigger may not fire here (trigger_optional)")
            } else {
                XCTAssertTrue(passes, "\(entry.id): native output does not match /\(entry.expect)/:\n\(text.suffix(1500))")
            }
            switch result.bpftrace {
            case let .failure(failure):
                recordKnownDifference(entry.id, "bpftrace failed: \(failure.message.prefix(300))")
            case .success:
                if result.agreement?.isEqual == true { equal += 1 } else {
                    recordKnownDifference(entry.id, "output \(result.agreement?.rawValue ?? "-") to bpftrace's:\n\(result.difference)")
                }
            }
        }
        print("eval behaviour checks: \(entries.count) entries, \(resolved) resolve here, \(checked) ran natively, \(equal) equal to bpftrace's output")
    }
}
