import CZ3

/// A Boolean term.
public struct Z3Bool {
    let node: Node

    init(_ node: Node) { self.node = node }

    var context: Z3Context { node.context }

    public func and(_ other: Z3Bool) -> Z3Bool { context.and([self, other]) }
    public func or(_ other: Z3Bool) -> Z3Bool { context.or([self, other]) }
    public func implies(_ other: Z3Bool) -> Z3Bool {
        Z3Bool(context.node(Z3_mk_implies(node.ctx, node.ast, other.node.ast), "mk_implies"))
    }
    public var not: Z3Bool {
        Z3Bool(context.node(Z3_mk_not(node.ctx, node.ast), "mk_not"))
    }
    public func iff(_ other: Z3Bool) -> Z3Bool {
        Z3Bool(context.node(Z3_mk_eq(node.ctx, node.ast, other.node.ast), "mk_eq"))
    }
    /// `if self then a else b` over bit-vectors.
    public func ite(_ then: Z3BitVector, _ otherwise: Z3BitVector) -> Z3BitVector {
        Z3BitVector(context.node(Z3_mk_ite(node.ctx, node.ast, then.node.ast, otherwise.node.ast), "mk_ite"),
                    width: max(then.width, otherwise.width))
    }
    /// `if self then a else b` over Booleans.
    public func ite(_ then: Z3Bool, _ otherwise: Z3Bool) -> Z3Bool {
        Z3Bool(context.node(Z3_mk_ite(node.ctx, node.ast, then.node.ast, otherwise.node.ast), "mk_ite"))
    }
    /// `if self then a else b` over arrays.
    public func ite(_ then: Z3Array, _ otherwise: Z3Array) -> Z3Array {
        Z3Array(context.node(Z3_mk_ite(node.ctx, node.ast, then.node.ast, otherwise.node.ast), "mk_ite"),
                indexWidth: then.indexWidth, valueWidth: then.valueWidth)
    }

    /// Z3's textual form (SMT-LIB), for diagnostics.
    public var smtString: String {
        Z3_ast_to_string(node.ctx, node.ast).map { String(cString: $0) } ?? ""
    }

    /// The constant value if Z3 can see it syntactically (`true`/`false`), else nil.
    public var literalValue: Bool? {
        let value = Z3_get_bool_value(node.ctx, node.ast)
        if value == Z3_L_TRUE { return true }
        if value == Z3_L_FALSE { return false }
        return nil
    }

    /// A structurally simplified copy (Z3's rewriter); useful to spot trivially true conditions.
    public var simplified: Z3Bool {
        Z3Bool(context.node(Z3_simplify(node.ctx, node.ast), "simplify"))
    }
}

extension Z3Context {
    public func bool(_ value: Bool) -> Z3Bool {
        Z3Bool(node(value ? Z3_mk_true(raw) : Z3_mk_false(raw), "mk_bool"))
    }

    public func boolConstant(_ name: String) -> Z3Bool {
        Z3Bool(node(Z3_mk_const(raw, symbol(name), Z3_mk_bool_sort(raw)), "mk_const"))
    }

    public func and(_ terms: [Z3Bool]) -> Z3Bool {
        if terms.isEmpty { return bool(true) }
        if terms.count == 1 { return terms[0] }
        let asts: [Z3_ast?] = terms.map { $0.node.ast }
        return asts.withUnsafeBufferPointer { buffer in
            Z3Bool(node(Z3_mk_and(raw, UInt32(buffer.count), buffer.baseAddress), "mk_and"))
        }
    }

    public func or(_ terms: [Z3Bool]) -> Z3Bool {
        if terms.isEmpty { return bool(false) }
        if terms.count == 1 { return terms[0] }
        let asts: [Z3_ast?] = terms.map { $0.node.ast }
        return asts.withUnsafeBufferPointer { buffer in
            Z3Bool(node(Z3_mk_or(raw, UInt32(buffer.count), buffer.baseAddress), "mk_or"))
        }
    }
}
