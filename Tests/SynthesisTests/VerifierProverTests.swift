import BpftraceSyntax
import Foundation
import KenProto
import Pipeline
import Synthesis
import XCTest

/// The verifier stage of the pipeline: an annotated program the prover cannot resolve is UNKNOWN
/// with its reason, never a silent pass.
final class VerifierProverTests: XCTestCase {
    func testAnUnresolvableAnnotatedProgramIsUnknownWithItsReason() async throws {
        let kernel = try Fixtures.requireTracefs()
        let text = """
            tracepoint:syscalls:sys_enter_openat
            {
              $f = args->no_such_field;
              assert($f == 1);
            }
            """
        let tree = try XCTUnwrap(Parser.parse(source: text, file: "unresolved.bt").program)
        let candidate = KernelCandidate(program: text, probes: ["tracepoint:syscalls:sys_enter_openat"],
                                        annotated: AnnotatedProgram(text: text),
                                        typed: TypedProgram(file: "unresolved.bt", tree: tree, annotatedTree: tree))
        let outcome = await VerifierProver(kernel: kernel).prove(candidate, file: "unresolved.bt")
        XCTAssertEqual(outcome.verdict, .unknown)
        XCTAssertTrue(outcome.asserts.isEmpty)
        let reason = try XCTUnwrap(outcome.couldNotCheck, "a program the prover cannot resolve must say so")
        XCTAssertTrue(reason.contains("no_such_field"), reason)
        let verdict = ProgramVerdict.judge(proof: outcome)
        XCTAssertEqual(verdict.kind, .checked)
        XCTAssertTrue(verdict.unprovenReason.hasPrefix("UNKNOWN:"), verdict.unprovenReason)
    }
}
