import BpftraceSyntax
import Foundation
import KendCore
import KenProto
import Pipeline
import Synthesis
import XCTest

/// The verifier stage of the pipeline: an annotated program the prover cannot resolve is UNKNOWN
/// with its reason, never a silent pass.
final class VerifierProverTests: XCTestCase {
    func candidate(_ text: String, file: String) throws -> KernelCandidate {
        let tree = try XCTUnwrap(Parser.parse(source: text, file: file).program)
        return KernelCandidate(program: text, probes: [], annotated: AnnotatedProgram(text: text),
                               typed: TypedProgram(file: file, tree: tree))
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
        let outcome = await prover.prove(try candidate(text, file: "unresolved.bt"), file: "unresolved.bt")
        XCTAssertEqual(outcome.verdict, .unknown)
        XCTAssertTrue(outcome.asserts.isEmpty)
        let reason = try XCTUnwrap(outcome.couldNotCheck, "a program the prover cannot resolve must say so")
        XCTAssertTrue(reason.contains("does not parse or resolve") && reason.contains("no_such_field"), reason)
        let verdict = ProgramVerdict.judge(proof: outcome)
        XCTAssertEqual(verdict.kind, .checked)
        XCTAssertTrue(verdict.unprovenReason.hasPrefix("UNKNOWN:"), verdict.unprovenReason)
    }
}
