import CZ3

/// A satisfying assignment. Evaluation uses model completion: a symbol the model leaves free
/// gets some value of its sort, which is a valid witness because nothing constrained it.
public final class Z3Model {
    let context: Z3Context
    let raw: Z3_model

    init(context: Z3Context, raw: Z3_model) {
        self.context = context
        self.raw = raw
        Z3_model_inc_ref(context.raw, raw)
    }

    deinit {
        Z3_model_dec_ref(context.raw, raw)
    }

    private func evaluateNode(_ node: Node) -> Node? {
        var result: Z3_ast?
        guard Z3_model_eval(context.raw, raw, node.ast, true, &result), let result else {
            context.noteError("model_eval")
            return nil
        }
        return Node(context: context, ast: result)
    }

    /// The value of a bit-vector of at most 64 bits, as its unsigned reading.
    public func evaluate(_ term: Z3BitVector) -> UInt64? {
        guard term.width <= 64, let value = evaluateNode(term.node) else { return nil }
        var number: UInt64 = 0
        guard Z3_is_numeral_ast(context.raw, value.ast),
              Z3_get_numeral_uint64(context.raw, value.ast, &number) else { return nil }
        return number
    }

    /// The value of a bit-vector of at most 64 bits read as two's complement.
    public func evaluateSigned(_ term: Z3BitVector) -> Int64? {
        guard let bits = evaluate(term) else { return nil }
        if term.width >= 64 { return Int64(bitPattern: bits) }
        let signBit: UInt64 = 1 << UInt64(term.width - 1)
        if bits & signBit == 0 { return Int64(bits) }
        return Int64(bitPattern: bits | ~((signBit << 1) &- 1))
    }

    /// The bytes of a bit-vector whose width is a multiple of 8, least significant first
    /// (memory order for strings).
    public func evaluateBytes(_ term: Z3BitVector) -> [UInt8]? {
        guard term.width % 8 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(term.width / 8)
        for index in 0..<(term.width / 8) {
            guard let byte = evaluate(term.extract(high: index * 8 + 7, low: index * 8)) else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: byte))
        }
        return bytes
    }

    public func evaluate(_ term: Z3Bool) -> Bool? {
        guard let value = evaluateNode(term.node) else { return nil }
        let answer = Z3_get_bool_value(context.raw, value.ast)
        if answer == Z3_L_TRUE { return true }
        if answer == Z3_L_FALSE { return false }
        return nil
    }
}
