import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Ternaries, short-circuit operators, if/else chains, unroll and while.
final class ControlFlowTests: XCTestCase {
    func testTernary() throws {
        let body = "$m = args->a > args->b ? args->a : args->b;"
        expect(try verify(probe(body + " assert($m >= args->a && $m >= args->b);")), .verified)
        expect(try verify(probe(body + " assert($m == args->a);")), .violated)
    }

    func testShortCircuitSkipsTheRightSide() throws {
        let body = "$c = 0; if (args->a > 5 || $c++ > 0) { printf(\"x\"); }"
        expect(try verify(probe(body + " assert(args->a > 5 || $c == 1);")), .verified)
        expect(try verify(probe(body + " assert($c == 0);")), .violated)
        let and = "$c = 0; if (args->a > 5 && $c++ > 0) { printf(\"x\"); }"
        expect(try verify(probe(and + " assert($c == (args->a > 5 ? 1 : 0));")), .verified)
    }

    func testIfElseChainAndPathInCounterexample() throws {
        let body = """
        if (args->x < 10) { $c = 1; } else if (args->x < 100) { $c = 2; } else { $c = 3; }
        """
        expect(try verify(probe(body + "\nassert($c >= 1 && $c <= 3);")), .verified)
        let result = try verify(probe(body + "\nassert($c != 2, \"middle\");"))
        expect(result, .violated)
        let path = try XCTUnwrap(result.asserts.first?.counterexample?.path)
        XCTAssertEqual(path.map(\.condition), ["args->x < 10", "args->x < 100"])
        XCTAssertEqual(path.map(\.taken), [false, true])
        let x = try XCTUnwrap(result.asserts.first?.counterexample?.values.first { $0.name == "args->x" })
        let value = try XCTUnwrap(UInt64(x.value.split(separator: " ")[0]))
        XCTAssertTrue((10..<100).contains(value), x.value)
        XCTAssertTrue(result.renderText().contains("test.bt:4:1: VIOLATED assert($c != 2, \"middle\")"),
                      result.renderText())
    }

    func testUnroll() throws {
        expect(try verify(probe("$i = 0; unroll(5) { $i = $i + 2; } assert($i == 10);")), .verified)
        expect(try verify(probe("$i = 0; unroll(5) { $i = $i + 2; } assert($i == 12);")), .violated)
    }

    func testWhileWithinTheBoundIsProven() throws {
        let body = "$i = 0; while ($i < 4) { $i++; } assert($i == 4);"
        expect(try verify(probe(body)), .verified)
        let symbolic = "assume(args->n <= 5); $i = 0; while ($i < args->n) { $i++; } assert($i == args->n);"
        expect(try verify(probe(symbolic)), .verified)
        let broken = "$i = 0; while ($i < 10) { $i++; if ($i == 3) { break; } } assert($i == 3);"
        expect(try verify(probe(broken)), .verified)
    }

    func testWhileBeyondTheBoundIsUnknownNeverVerified() throws {
        let body = "$i = 0; while ($i < args->n) { $i++; } assert($i == args->n);"
        let result = try verify(probe(body), options: VerificationOptions(loopBound: 8))
        expect(result, .unknown)
        XCTAssertEqual(result.verdict, .unknown)
        XCTAssertTrue(result.asserts[0].reason?.contains("loop bound") ?? false, result.renderText())
        // An assert inside such a loop is not proven for the iterations never explored.
        let inside = "$i = 0; while ($i < args->n) { assert($i < 100); $i++; }"
        expect(try verify(probe(inside), options: VerificationOptions(loopBound: 8)), .unknown)
    }

    func testReturnEndsThePath() throws {
        expect(try verify(probe("if (args->a == 0) { return; } assert(args->a != 0);")), .verified)
    }
}

extension ControlFlowTests {
    /// bpftrace 0.17 drops `$x = 300` into a uint8 `$x`; the verifier must not claim either value.
    func testNarrowingReassignmentIsUnknownValue() throws {
        expect(try verify(probe("$x = (uint8)5; $x = 300; assert($x == 44);")), .violated)
        expect(try verify(probe("$x = (uint8)5; $x = 300; assert($x == 5);")), .violated)
        expect(try verify(probe("$x = (uint8)5; $x = 300; assert($x <= 255);")), .verified)
        expect(try verify(probe("$x = 5; $x = (uint8)7; assert($x == 7);")), .verified)
    }
}

extension ControlFlowTests {
    func testLetDeclarationsAndRangeLoops() throws {
        expect(try verify(probe("let $x: uint8 = 0x1ff; assert($x == 0xff);")), .verified)
        expect(try verify(probe("let $s = 0; for $i : 0..4 { $s += $i; } assert($s == 6);")), .verified)
        expect(try verify(probe("let $s = 0; for $i : 0..4 { $s += $i; } assert($s == 10);")), .violated)
        // A range with a symbolic end is not unrolled: UNKNOWN, never VERIFIED.
        expect(try verify(probe("let $s = 0; for $i : 0..args->n { $s += 1; } assert($s >= 0);")), .unknown)
    }

    func testBreakAndContinueInUnroll() throws {
        let body = "$n = 0; $i = 0; while ($i < 10) { $i++; if ($i % 2 == 0) { continue; } $n++; } assert($n == 5);"
        expect(try verify(probe(body)), .verified)
    }
}
