import Foundation
import KendCore
import KenProto
import Synthesis
import XCTest

/// The verifier stage of the pipeline: an annotated program the prover cannot read is UNKNOWN
/// with its reason, never a silent pass.
final class VerifierProverTests: XCTestCase {
    func testAnUnparsableAnnotatedProgramIsUnknownWithItsReason() async throws {
        let prover = VerifierProver(kernel: nil)
        let outcome = await prover.prove(annotated: AnnotatedProgram(text: "tracepoint:a:b { assert(1 == ; }"),
                                         file: "broken.bt")
        XCTAssertEqual(outcome.verdict, .unknown)
        XCTAssertTrue(outcome.asserts.isEmpty)
        let reason = try XCTUnwrap(outcome.couldNotCheck, "a program the prover cannot read must say so")
        XCTAssertTrue(reason.contains("does not parse or resolve"), reason)
        XCTAssertTrue(outcome.feedback.contains("broken.bt:1"), outcome.feedback)
    }

    func testAnUnresolvableAnnotatedProgramIsUnknownWithItsReason() async throws {
        let kernel = try Fixtures.requireTracefs()
        let prover = VerifierProver(kernel: kernel)
        let text = """
            tracepoint:syscalls:sys_enter_openat
            {
              $f = args->no_such_field;
              assert($f == 1);
            }
            """
        let outcome = await prover.prove(annotated: AnnotatedProgram(text: text), file: "unresolved.bt")
        XCTAssertEqual(outcome.verdict, .unknown)
        XCTAssertTrue(outcome.couldNotCheck?.contains("no_such_field") ?? false, "\(String(describing: outcome.couldNotCheck))")
    }
}
