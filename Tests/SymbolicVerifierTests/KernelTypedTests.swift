import KernelInfo
import SymbolicVerifier
import XCTest

/// Verification with types from the running kernel (tracefs formats) through the real resolver.
final class KernelTypedTests: XCTestCase {
    private func kernel() throws -> KernelInfo {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil else { throw XCTSkip("tracefs is not mounted/readable here") }
        return kernel
    }

    /// `prev_pid` is a signed 32-bit field: negative values exist and negating one in 64-bit
    /// arithmetic is positive. Untyped, it would be read as uint64 and the branch would be dead.
    func testSignedTracepointFieldFromTracefs() throws {
        let source = """
        tracepoint:sched:sched_switch
        {
          $p = args->prev_pid;
          if ($p < 0) {
            $n = 0 - $p;
            assert($n > 0);
          }
        }
        """
        let typed = VerifyFile.run(source: source, file: "switch.bt", kernel: try kernel())
        guard typed.exitCode != VerifyFile.frontEndFailure else {
            throw XCTSkip("sched:sched_switch does not resolve here: \(typed.output)")
        }
        XCTAssertEqual(typed.exitCode, 0, typed.output)
        let untyped = VerifyFile.run(source: source, file: "switch.bt", kernel: nil)
        XCTAssertEqual(untyped.exitCode, 2, untyped.output)
        XCTAssertTrue(untyped.output.contains("the signedness of args->prev_pid is unknown without kernel types"),
                      untyped.output)
    }

    func testCharArrayFieldComparesAsString() throws {
        let source = """
        tracepoint:sched:sched_switch
        {
          if (args->next_comm == "bash") { assert(args->next_comm != "zsh"); }
          assert(args->next_comm != "sshd", "never switches to sshd");
        }
        """
        let outcome = VerifyFile.run(source: source, file: "comm.bt", kernel: try kernel())
        guard outcome.exitCode != VerifyFile.frontEndFailure else {
            throw XCTSkip("sched:sched_switch does not resolve here: \(outcome.output)")
        }
        let result = try XCTUnwrap(outcome.result)
        expect(result, .verified, assert: 0)
        expect(result, .violated, assert: 1)
        let comm = result.asserts[1].counterexample?.values.first { $0.name == "args->next_comm" }
        XCTAssertEqual(comm?.value, "\"sshd\"", outcome.output)
    }
}
