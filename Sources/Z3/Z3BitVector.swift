import CZ3

/// A fixed-width bit-vector term. Signedness is not part of the term: as in the machine, the
/// operation (`sdiv` vs `udiv`, `slt` vs `ult`) decides how the bits are read.
public struct Z3BitVector {
    let node: Node
    /// Width in bits.
    public let width: Int

    init(_ node: Node, width: Int) {
        self.node = node
        self.width = width
    }

    var context: Z3Context { node.context }

    private func binary(_ other: Z3BitVector, _ name: String,
                        _ make: (Z3_context?, Z3_ast?, Z3_ast?) -> Z3_ast?) -> Z3BitVector {
        Z3BitVector(context.node(make(node.ctx, node.ast, other.node.ast), name), width: width)
    }

    private func predicate(_ other: Z3BitVector, _ name: String,
                           _ make: (Z3_context?, Z3_ast?, Z3_ast?) -> Z3_ast?) -> Z3Bool {
        Z3Bool(context.node(make(node.ctx, node.ast, other.node.ast), name))
    }

    // MARK: Arithmetic (modulo 2^width).
    public func add(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvadd", Z3_mk_bvadd) }
    public func sub(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvsub", Z3_mk_bvsub) }
    public func mul(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvmul", Z3_mk_bvmul) }
    /// Z3's own rule for a zero divisor (all ones) applies; callers wanting eBPF's rule wrap it.
    public func udiv(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvudiv", Z3_mk_bvudiv) }
    public func sdiv(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvsdiv", Z3_mk_bvsdiv) }
    public func urem(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvurem", Z3_mk_bvurem) }
    public func srem(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvsrem", Z3_mk_bvsrem) }
    public var neg: Z3BitVector {
        Z3BitVector(context.node(Z3_mk_bvneg(node.ctx, node.ast), "mk_bvneg"), width: width)
    }

    // MARK: Bitwise.
    public func and(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvand", Z3_mk_bvand) }
    public func or(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvor", Z3_mk_bvor) }
    public func xor(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvxor", Z3_mk_bvxor) }
    public var not: Z3BitVector {
        Z3BitVector(context.node(Z3_mk_bvnot(node.ctx, node.ast), "mk_bvnot"), width: width)
    }
    public func shl(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvshl", Z3_mk_bvshl) }
    public func lshr(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvlshr", Z3_mk_bvlshr) }
    public func ashr(_ o: Z3BitVector) -> Z3BitVector { binary(o, "mk_bvashr", Z3_mk_bvashr) }

    // MARK: Width changes.
    /// Bits `high...low` (inclusive), a term of width `high - low + 1`.
    public func extract(high: Int, low: Int) -> Z3BitVector {
        Z3BitVector(context.node(Z3_mk_extract(node.ctx, UInt32(clamping: high), UInt32(clamping: low), node.ast),
                                 "mk_extract"),
                    width: max(high - low + 1, 1))
    }
    /// `self` in the high bits, `low` in the low bits.
    public func concat(_ low: Z3BitVector) -> Z3BitVector {
        Z3BitVector(context.node(Z3_mk_concat(node.ctx, node.ast, low.node.ast), "mk_concat"),
                    width: width + low.width)
    }
    public func signExtend(by bits: Int) -> Z3BitVector {
        guard bits > 0 else { return self }
        return Z3BitVector(context.node(Z3_mk_sign_ext(node.ctx, UInt32(clamping: bits), node.ast), "mk_sign_ext"),
                           width: width + bits)
    }
    public func zeroExtend(by bits: Int) -> Z3BitVector {
        guard bits > 0 else { return self }
        return Z3BitVector(context.node(Z3_mk_zero_ext(node.ctx, UInt32(clamping: bits), node.ast), "mk_zero_ext"),
                           width: width + bits)
    }
    /// Truncates or extends to `newWidth`, extending with the sign bit when `signed`.
    public func resized(to newWidth: Int, signed: Bool) -> Z3BitVector {
        if newWidth == width { return self }
        if newWidth < width { return extract(high: newWidth - 1, low: 0) }
        return signed ? signExtend(by: newWidth - width) : zeroExtend(by: newWidth - width)
    }

    // MARK: Comparisons.
    public func eq(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_eq", Z3_mk_eq) }
    public func ne(_ o: Z3BitVector) -> Z3Bool { eq(o).not }
    public func ult(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvult", Z3_mk_bvult) }
    public func ule(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvule", Z3_mk_bvule) }
    public func ugt(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvugt", Z3_mk_bvugt) }
    public func uge(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvuge", Z3_mk_bvuge) }
    public func slt(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvslt", Z3_mk_bvslt) }
    public func sle(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvsle", Z3_mk_bvsle) }
    public func sgt(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvsgt", Z3_mk_bvsgt) }
    public func sge(_ o: Z3BitVector) -> Z3Bool { predicate(o, "mk_bvsge", Z3_mk_bvsge) }

    /// `self != 0`.
    public var isNonZero: Z3Bool { ne(context.bitVector(UInt64(0), width: width)) }

    /// Reverses the byte order of a width that is a multiple of 8 (a no-op for one byte).
    public var byteSwapped: Z3BitVector {
        let bytes = width / 8
        guard bytes > 1, width % 8 == 0 else { return self }
        var result = extract(high: 7, low: 0)
        for index in 1..<bytes {
            result = result.concat(extract(high: index * 8 + 7, low: index * 8))
        }
        return result
    }

    public var smtString: String {
        Z3_ast_to_string(node.ctx, node.ast).map { String(cString: $0) } ?? ""
    }
}

extension Z3Context {
    /// A numeral of `width` bits holding the low bits of `value`.
    public func bitVector(_ value: UInt64, width: Int) -> Z3BitVector {
        Z3BitVector(node(Z3_mk_unsigned_int64(raw, value, bvSort(width)), "mk_unsigned_int64"), width: max(width, 1))
    }

    /// A numeral of `width` bits holding the two's complement of `value`.
    public func bitVector(signed value: Int64, width: Int) -> Z3BitVector {
        Z3BitVector(node(Z3_mk_int64(raw, value, bvSort(width)), "mk_int64"), width: max(width, 1))
    }

    /// A numeral wider than 64 bits from its bytes, `bytes[0]` being the least significant
    /// (memory order on a little-endian machine, which is how strings are laid out).
    public func bitVector(littleEndianBytes bytes: [UInt8]) -> Z3BitVector {
        guard let first = bytes.first else { return bitVector(UInt64(0), width: 8) }
        var result = bitVector(UInt64(first), width: 8)
        for byte in bytes.dropFirst() {
            result = bitVector(UInt64(byte), width: 8).concat(result)
        }
        return result
    }

    /// An uninterpreted constant; the same name and width always denote the same value.
    public func bitVectorConstant(_ name: String, width: Int) -> Z3BitVector {
        Z3BitVector(node(Z3_mk_const(raw, symbol(name), bvSort(width)), "mk_const"), width: max(width, 1))
    }
}

extension Z3BitVector {
    /// A copy rewritten by Z3's simplifier (constant folding and more).
    public var simplified: Z3BitVector {
        Z3BitVector(context.node(Z3_simplify(node.ctx, node.ast), "simplify"), width: width)
    }

    /// The value if this term is a numeral of at most 64 bits (no solving involved).
    public var numeralValue: UInt64? {
        guard width <= 64, Z3_is_numeral_ast(node.ctx, node.ast) else { return nil }
        var value: UInt64 = 0
        guard Z3_get_numeral_uint64(node.ctx, node.ast, &value) else { return nil }
        return value
    }
}
