import XCTest
import Z3

final class Z3WrapperTests: XCTestCase {
    func testLinkedVersionIs4812() {
        XCTAssertTrue(Z3Context.version.hasPrefix("4.8.12"), Z3Context.version)
    }

    func testModelOfWrappingAddition() throws {
        let context = try Z3Context()
        let x = context.bitVectorConstant("x", width: 8)
        let solver = try Z3Solver(context: context, timeoutMilliseconds: 5_000)
        solver.add(x.add(context.bitVector(UInt64(1), width: 8)).eq(context.bitVector(UInt64(0), width: 8)))
        guard case let .satisfiable(model) = try solver.check() else { return XCTFail("expected sat") }
        XCTAssertEqual(model.evaluate(x), 255)
        XCTAssertEqual(model.evaluateSigned(x), -1)
    }

    func testSignedAndUnsignedComparisonsDiffer() throws {
        let context = try Z3Context()
        let minusOne = context.bitVector(signed: -1, width: 32)
        let zero = context.bitVector(UInt64(0), width: 32)
        let solver = try Z3Solver(context: context)
        solver.add(minusOne.slt(zero).and(minusOne.ugt(zero)))
        guard case .satisfiable = try solver.check() else { return XCTFail("expected sat") }
        let contradiction = try Z3Solver(context: context)
        contradiction.add(minusOne.ult(zero))
        guard case .unsatisfiable = try contradiction.check() else { return XCTFail("expected unsat") }
    }

    func testWidthChangesAndByteSwap() throws {
        let context = try Z3Context()
        let value = context.bitVector(UInt64(0x1234), width: 16)
        XCTAssertEqual(value.byteSwapped.simplified.numeralValue, 0x3412)
        XCTAssertEqual(value.extract(high: 7, low: 0).simplified.numeralValue, 0x34)
        let byte = context.bitVector(UInt64(0x80), width: 8)
        XCTAssertEqual(byte.signExtend(by: 8).simplified.numeralValue, 0xFF80)
        XCTAssertEqual(byte.zeroExtend(by: 8).simplified.numeralValue, 0x0080)
        XCTAssertEqual(byte.concat(byte).simplified.numeralValue, 0x8080)
        XCTAssertEqual(context.bitVector(littleEndianBytes: [0x61, 0x62]).simplified.numeralValue, 0x6261)
    }

    func testArraysRememberStores() throws {
        let context = try Z3Context()
        let map = context.arrayConstant("m", indexWidth: 64, valueWidth: 64)
        let key = context.bitVectorConstant("k", width: 64)
        let other = context.bitVectorConstant("j", width: 64)
        let written = map.store(key, context.bitVector(UInt64(7), width: 64))
        let solver = try Z3Solver(context: context)
        solver.add(written.select(key).ne(context.bitVector(UInt64(7), width: 64)))
        guard case .unsatisfiable = try solver.check() else { return XCTFail("store then select must agree") }
        let free = try Z3Solver(context: context)
        free.add(written.select(other).ne(context.bitVector(UInt64(7), width: 64)))
        guard case let .satisfiable(model) = try free.check() else { return XCTFail("other keys are free") }
        XCTAssertNotEqual(model.evaluate(other), model.evaluate(key))
    }

    /// A sort mismatch is an error from `check`, not a crash of the process.
    func testMisuseIsAnErrorNotACrash() throws {
        let context = try Z3Context()
        let a = context.bitVectorConstant("a", width: 8)
        let b = context.bitVectorConstant("b", width: 16)
        let solver = try Z3Solver(context: context)
        solver.add(a.add(b).eq(a))
        XCTAssertThrowsError(try solver.check()) { error in
            guard case Z3Error.api = error else { return XCTFail("unexpected \(error)") }
        }
    }

    /// Factoring a 62-bit semiprime by bit-blasting takes far longer than 50 ms.
    func testTimeoutIsUnknown() throws {
        let context = try Z3Context()
        let p = context.bitVectorConstant("p", width: 64)
        let q = context.bitVectorConstant("q", width: 64)
        let n = context.bitVector(UInt64(2_305_843_009_213_693_951) &* 1, width: 64) // 2^61-1 is prime
        let solver = try Z3Solver(context: context, timeoutMilliseconds: 50)
        let limit = context.bitVector(UInt64(1) << 32, width: 64)
        let one = context.bitVector(UInt64(1), width: 64)
        solver.add(p.mul(q).eq(n))
        solver.add(p.ugt(one).and(q.ugt(one)).and(p.ult(limit)).and(q.ult(limit)))
        let started = ContinuousClock.now
        let answer = try solver.check()
        let elapsed = ContinuousClock.now - started
        guard case let .unknown(reason) = answer else { return XCTFail("expected unknown, got \(answer)") }
        XCTAssertTrue(reason.contains("timeout") || reason.contains("canceled"), reason)
        XCTAssertLessThan(elapsed, .seconds(5))
    }
}
