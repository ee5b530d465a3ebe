import CZ3

/// An array from bit-vectors to bit-vectors (SMT arrays are total functions, updated by `store`).
/// Used to model a map's contents: an unknown initial array plus the stores a probe run makes.
public struct Z3Array {
    let node: Node
    public let indexWidth: Int
    public let valueWidth: Int

    init(_ node: Node, indexWidth: Int, valueWidth: Int) {
        self.node = node
        self.indexWidth = indexWidth
        self.valueWidth = valueWidth
    }

    public func select(_ index: Z3BitVector) -> Z3BitVector {
        Z3BitVector(node.context.node(Z3_mk_select(node.ctx, node.ast, index.node.ast), "mk_select"),
                    width: valueWidth)
    }

    public func store(_ index: Z3BitVector, _ value: Z3BitVector) -> Z3Array {
        Z3Array(node.context.node(Z3_mk_store(node.ctx, node.ast, index.node.ast, value.node.ast), "mk_store"),
                indexWidth: indexWidth, valueWidth: valueWidth)
    }
}

extension Z3Context {
    public func arrayConstant(_ name: String, indexWidth: Int, valueWidth: Int) -> Z3Array {
        Z3Array(node(Z3_mk_const(raw, symbol(name), arraySort(indexWidth: indexWidth, valueWidth: valueWidth)),
                     "mk_const"),
                indexWidth: indexWidth, valueWidth: valueWidth)
    }

    /// An array holding `value` at every index.
    public func constantArray(indexWidth: Int, value: Z3BitVector) -> Z3Array {
        Z3Array(node(Z3_mk_const_array(raw, bvSort(indexWidth), value.node.ast), "mk_const_array"),
                indexWidth: indexWidth, valueWidth: value.width)
    }
}
