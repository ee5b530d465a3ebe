import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Annotations that prove nothing must not make a program pass.
final class VacuityTests: XCTestCase {
    func testTautologyIsFlaggedAndCannotPassAlone() throws {
        let result = try verify(probe("$x = args->a; assert(1 == 1);"))
        expect(result, .verified)
        XCTAssertTrue(result.asserts[0].vacuous)
        XCTAssertEqual(result.verdict, .unknown)
        XCTAssertTrue(result.warnings.contains { $0.message.contains("tautology") }, result.renderText())
        // Unsigned values are never negative: also a tautology.
        XCTAssertTrue(try verify(probe("assert(pid >= 0);")).asserts[0].vacuous)
    }

    func testAssertImpliedByTheAssumesAloneIsFlagged() throws {
        let result = try verify(probe("$x = pid; assume($x == 7); assert($x == 7);"))
        XCTAssertTrue(result.asserts[0].vacuous, result.renderText())
        XCTAssertEqual(result.verdict, .unknown)
        XCTAssertTrue(result.warnings.contains { $0.message.contains("assumes alone") }, result.renderText())
        // Assuming about the input and proving about what the program did with it is fine.
        let honest = try verify(probe("assume(pid == 7); $x = pid; assert($x == 7);"))
        XCTAssertFalse(honest.asserts[0].vacuous, honest.renderText())
        XCTAssertEqual(honest.verdict, .verified)
    }

    func testContradictoryAssumesAreReportedNotVerified() throws {
        let result = try verify(probe("assume(pid == 1); assume(pid == 2); assert(args->x == 3);"))
        expect(result, .unknown)
        XCTAssertEqual(result.verdict, .unknown)
        XCTAssertTrue(result.warnings.contains { $0.message.contains("assumes contradict") }, result.renderText())
    }

    func testUnreachableAssertIsNotAPass() throws {
        let result = try verify(probe("if (args->a == 1 && args->a == 2) { assert(args->b == 0); } $y = 1; assert($y == 1);"))
        expect(result, .unknown, assert: 0)
        XCTAssertEqual(result.verdict, .unknown)
    }

    func testProgramWithoutAssertIsUnknown() throws {
        let result = try verify(probe("printf(\"%d\\n\", pid);"))
        XCTAssertEqual(result.verdict, .unknown)
        XCTAssertTrue(result.asserts.isEmpty)
        XCTAssertTrue(result.warnings.contains { $0.message.contains("no assert") })
    }
}

/// What the verifier cannot decide is UNKNOWN, never VERIFIED.
final class UnknownTests: XCTestCase {
    /// Refuting a factorisation of the prime 2^61-1 by bit-blasting does not finish in 200 ms.
    func testSolverTimeoutIsUnknown() throws {
        let body = """
        $p = args->p; $q = args->q;
        assume($p > 1 && $q > 1 && $p < 0x100000000 && $q < 0x100000000);
        assert($p * $q != 2305843009213693951);
        """
        let options = VerificationOptions(queryTimeout: .milliseconds(200))
        let started = ContinuousClock.now
        let result = try verify(probe(body), options: options)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
        expect(result, .unknown)
        XCTAssertTrue(result.asserts[0].reason?.contains("timeout") ?? false, result.renderText())
        XCTAssertEqual(result.exitCode, 2)
    }

    func testTotalBudgetIsRespected() throws {
        let body = """
        $p = args->p; $q = args->q;
        assume($p > 1 && $q > 1 && $p < 0x100000000 && $q < 0x100000000);
        assert($p * $q != 2305843009213693951);
        assert($q * $p != 2305843009213693951);
        """
        let options = VerificationOptions(queryTimeout: .seconds(10), totalBudget: .milliseconds(300))
        let started = ContinuousClock.now
        let result = try verify(probe(body), options: options)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(result.verdict, .unknown, result.renderText())
        XCTAssertTrue(result.asserts.allSatisfy { $0.verdict == .unknown })
    }

    func testUnsupportedConstructMakesLaterAssertsUnknown() throws {
        let result = try verify(probe("$x = some_future_function(1); assert(args->a == args->a + 0);"))
        expect(result, .unknown)
        XCTAssertTrue(result.asserts[0].reason?.contains("some_future_function") ?? false, result.renderText())
        // A violation on a fully modelled path is still reported.
        let mixed = try verify(probe("if (args->a == 1) { $x = some_future_function(1); } assert(args->a != 2);"))
        expect(mixed, .violated)
        let loop = try verify(probe("for ($kv : @m) { printf(\"x\"); } assert(1 == 1);"))
        expect(loop, .unknown)
    }

    func testPathLimitIsUnknown() throws {
        let body = """
        $n = 0;
        unroll(12) { if (nsecs % 2 == 0) { $n++; } }
        assert($n <= 12);
        """
        let result = try verify(probe(body), options: VerificationOptions(maxPaths: 64, mergeThreshold: 100_000))
        expect(result, .unknown)
        XCTAssertTrue(result.asserts[0].reason?.contains("paths") ?? false, result.renderText())
        // With merging (the default) the 4096 paths become one state and the assert is proven.
        let merged = try verify(probe(body))
        expect(merged, .verified)
        let wrong = try verify(probe(body.replacingOccurrences(of: "$n <= 12", with: "$n < 12")))
        expect(wrong, .violated)
    }
}

extension UnknownTests {
    /// Cancelling the task stops a long solver query promptly and reports UNKNOWN.
    func testCancellationInterruptsTheSolver() async throws {
        let body = """
        $p = args->p; $q = args->q;
        assume($p > 1 && $q > 1 && $p < 0x100000000 && $q < 0x100000000);
        assert($p * $q != 2305843009213693951);
        """
        guard let program = Parser.parse(source: probe(body), file: "slow.bt").program else {
            return XCTFail("does not parse")
        }
        let verifier = SymbolicVerifier(options: VerificationOptions(queryTimeout: .seconds(30), untypedFields: .assumeUInt64))
        let started = ContinuousClock.now
        let task = Task { await verifier.verifyCancellable(program) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.value
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
        expect(result, .unknown)
        XCTAssertTrue(result.asserts[0].reason?.contains("cancelled") ?? false, result.renderText())
    }

    /// Verifications in parallel tasks each own their context and agree with sequential runs.
    func testParallelVerificationsAgree() async throws {
        let sources = TimingTests.programs + [probe("assert(pid != 1);")]
        let programs = sources.compactMap { Parser.parse(source: $0, file: "p.bt").program }
        XCTAssertEqual(programs.count, sources.count)
        let verifier = SymbolicVerifier(options: VerificationOptions(untypedFields: .assumeUInt64))
        let sequential = programs.map { verifier.verify($0).verdict }
        let parallel = await withTaskGroup(of: (Int, Verdict).self) { group in
            for (index, program) in programs.enumerated() {
                group.addTask { (index, await verifier.verifyCancellable(program).verdict) }
            }
            var verdicts = Array(repeating: Verdict.unknown, count: programs.count)
            for await (index, verdict) in group { verdicts[index] = verdict }
            return verdicts
        }
        XCTAssertEqual(parallel, sequential)
    }
}
