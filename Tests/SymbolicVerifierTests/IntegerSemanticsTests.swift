import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Widths, signedness, eBPF's division rules, shifts and byte swaps.
final class IntegerSemanticsTests: XCTestCase {
    func testCastTruncates() throws {
        expect(try verify(probe("$x = (uint8)0x1ff; assert($x == 0xff);")), .verified)
        expect(try verify(probe("$x = (uint8)0x1ff; assert($x == 0x1ff);")), .violated)
    }

    func testCastSignExtendsSignedTypes() throws {
        expect(try verify(probe("$x = (int8)0xff; assert($x == -1);")), .verified)
        expect(try verify(probe("$x = (uint8)0xff; assert($x == -1);")), .violated)
        // Widening a narrowed value extends by the source's signedness.
        expect(try verify(probe("$x = (int64)(int16)0x8000; assert($x < 0);")), .verified)
        expect(try verify(probe("$x = (int64)(uint16)0x8000; assert($x < 0);")), .violated)
    }

    func testComparisonIsSignedOnlyWhenBothSidesAre() throws {
        expect(try verify(probe("$a = (int32)-1; assert($a < 0);")), .verified)
        // uint32 against a signed literal: unsigned comparison, 0xffffffff is not below 0.
        expect(try verify(probe("$b = (uint32)0xffffffff; assert($b < 0);")), .violated)
        expect(try verify(probe("$c = (int32)args->v; assert($c < 100);"),
                          types: ["args->v": .integer(bits: 32, signed: true)]), .violated)
    }

    func testSixtyFourBitArithmeticWraps() throws {
        expect(try verify(probe("$x = (uint64)0xffffffffffffffff + 1; assert($x == 0);")), .verified)
        // 32-bit fields are widened before arithmetic: no 32-bit wrap.
        expect(try verify(probe("$x = args->a + 1; assert($x > args->a);"),
                          types: ["args->a": .integer(bits: 32, signed: false)]), .verified)
        expect(try verify(probe("$x = args->a + 1; assert($x > args->a);")), .violated)
    }

    func testDivisionByZeroIsZeroAndModuloByZeroIsTheDividend() throws {
        expect(try verify(probe("$d = args->n / args->k; assert(args->k != 0 || $d == 0);")), .verified)
        expect(try verify(probe("$m = args->n % args->k; assert(args->k != 0 || $m == args->n);")), .verified)
        expect(try verify(probe("$d = args->n / 0; assert($d != 0);")), .violated)
        expect(try verify(probe("$d = args->n / args->k; assert($d <= args->n);")), .verified)
    }

    func testShifts() throws {
        expect(try verify(probe("$s = 1 << 3; assert($s == 8);")), .verified)
        // A shift by 64 or more is undefined (bpftrace folds it to 0, the JIT masks it): unknown.
        expect(try verify(probe("$s = 1 << 65; assert($s == 2);")), .violated)
        expect(try verify(probe("$s = 1 << (args->n & 63); assert($s != 0);")), .verified)
        expect(try verify(probe("assert((args->n >> 1) <= args->n);")), .verified)
        expect(try verify(probe("$t = args->n << 1; assert($t > args->n);")), .violated)
        // bpftrace's >> is logical even on signed values.
        expect(try verify(probe("$n = (int64)-8; $r = $n >> 1; assert($r > 0);")), .verified)
        // Unary operators keep the operand's width.
        expect(try verify(probe("$x = ~(uint16)0; assert($x == 0xffff);")), .verified)
        expect(try verify(probe("$x = -(uint32)1; assert($x == 0xffffffff);")), .verified)
    }

    func testBitOperations() throws {
        expect(try verify(probe("$x = args->f & 0xff; assert($x <= 255);")), .verified)
        expect(try verify(probe("$x = args->f | 1; assert($x % 2 == 1);")), .verified)
        expect(try verify(probe("$x = args->f ^ args->f; assert($x == 0);")), .verified)
        expect(try verify(probe("$x = ~args->f; assert($x != args->f);")), .verified)
        expect(try verify(probe("$x = args->f & 0xff; assert($x < 255);")), .violated)
    }

    func testByteSwap() throws {
        expect(try verify(probe("$v = bswap((uint16)0x1234); assert($v == 0x3412);")), .verified)
        expect(try verify(probe("$v = bswap((uint16)0x1234); assert($v == 0x1234);")), .violated)
        expect(try verify(probe("$v = bswap((uint32)0x11223344); assert($v == 0x44332211);")), .verified)
        expect(try verify(probe("$v = bswap(bswap(args->p)); assert($v == args->p);"),
                          types: ["args->p": .integer(bits: 16, signed: false)]), .verified)
    }
}

extension IntegerSemanticsTests {
    func testBoolCastIsNonZeroNotTruncation() throws {
        expect(try verify(probe("$b = (bool)256; assert($b == 1);")), .verified)
        expect(try verify(probe("$b = (uint8)256; assert($b == 1);")), .violated)
    }
}
