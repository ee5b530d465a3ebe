import BpftraceSyntax
import Comprehension
import Contracts
import SymbolicVerifier
import TestSupport
import XCTest

/// LLM assumes weighed against the kernel contracts with Z3: a contradicted one is dropped with
/// a note, an implied one is a fact, any other is kept and listed as "assumed".
final class AssumeCheckTests: XCTestCase {
    static let candidate = """
        tracepoint:syscalls:sys_exit_openat
        /args->ret < 0/
        {
          @errors[-args->ret] = count();
        }
        """

    func testAssumesAreCheckedAgainstTheContracts() async throws {
        let reply = """
            tracepoint:syscalls:sys_exit_openat {
              assume(args->ret < -4095);
              assume(args->ret >= -5000);
              assume(args->ret != -2);
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(reply)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: Self.candidate, prompt: "count failed opens by errno")
        guard result.annotations.contains(where: { $0.text == "assume(args->ret >= -4095);" }) else {
            throw XCTSkip("this kernel's contract for sys_exit_openat has no errno range: \(result.annotatedSource)")
        }
        let llm = result.annotations.filter { $0.origin == .llm }.map(\.text)
        // Contradicts the errno convention (ret >= -4095): dropped, with the contract named.
        XCTAssertFalse(llm.contains("assume(args->ret < -4095);"), "\(llm)")
        XCTAssertTrue(result.notes.contains {
            $0.hasPrefix("dropped LLM annotation assume(args->ret < -4095);")
                && $0.contains("contradicts the kernel contract (assume(args->ret >= -4095);")
        }, "\(result.notes)")
        // Implied by the contract: kept, and not something the proof takes on trust.
        XCTAssertTrue(llm.contains("assume(args->ret >= -5000);"), "\(llm)")
        // Not implied: kept, and listed as assumed.
        XCTAssertTrue(llm.contains("assume(args->ret != -2);"), "\(llm)")
        XCTAssertEqual(result.assumed.map(\.text), ["assume(args->ret != -2);"])
        XCTAssertTrue(result.notes.contains { $0.hasPrefix("assumed (no contract implies it): assume(args->ret != -2);") },
                      "\(result.notes)")
    }

    func testAnAssumeThatCanNeverHoldIsDropped() async throws {
        let reply = """
            tracepoint:syscalls:sys_exit_openat {
              assume(1 == 0);
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(reply)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: Self.candidate, prompt: "count failed opens by errno")
        XCTAssertEqual(result.annotations.filter { $0.origin == .llm }, [])
        XCTAssertTrue(result.notes.contains { $0.hasPrefix("dropped LLM annotation assume(1 == 0);") && $0.contains("never hold") },
                      "\(result.notes)")
        XCTAssertEqual(result.assumed, [])
    }
}
