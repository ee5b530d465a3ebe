import BpftraceSyntax
import Z3

/// Expression evaluation: AST expression + path state → symbolic value (and an updated state,
/// since `@x++`, `$x = …` inside conditions and map writes change it).
extension ProbeRun {
    func evaluate(_ expression: Expression, _ state: inout PathState, asObject: Bool = false) -> SymbolicValue {
        switch expression.kind {
        case let .integer(literal):
            guard let value = literal.value else {
                return unsupported("integer literal \(literal.text) does not fit in 64 bits", expression, &state)
            }
            return .integer(context.bitVector(value, width: 64), signed: value <= UInt64(Int64.max))
        case let .string(text):
            return .string(context.bitVector(littleEndianBytes: Array(text.utf8) + [0]))
        case let .boolean(value):
            return .boolean(context.bool(value))
        case let .variable(name):
            if let value = state.variables[name] { return value }
            // Unassigned variables are ghosts: universally quantified values annotations can name
            // (e.g. the host-order port a user asked about). Fixed for the run.
            let shape = expression.type.flatMap(ValueShape.init) ?? staticTypes.variables[name] ?? .u64
            return environmentValue("$" + name, shape: shape)
        case let .map(name, keys):
            return mapRead(name, keys: keys, expression, &state)
        case let .positional(index):
            return environmentValue("$\(index)", shape: expression.type.flatMap(ValueShape.init) ?? .u64)
        case .positionalCount:
            return environmentValue("$#", shape: .u64)
        case let .builtin(name):
            return builtin(name, expression)
        case .identifier(let name):
            if let value = constants[name] {
                return .integer(context.bitVector(signed: value, width: 64), signed: true)
            }
            return unsupported("identifier \(name)", expression, &state)
        case let .call(name, arguments):
            return call(name, arguments, expression, &state)
        case let .unary(op, operand):
            return unary(op, operand, expression, &state)
        case let .incrementDecrement(op, prefix, operand):
            let old = evaluate(operand, &state)
            guard let (bits, signed) = old.widened(context) else {
                return unsupported("\(op.rawValue) on a non-integer", expression, &state)
            }
            let one = context.bitVector(UInt64(1), width: 64)
            let new = SymbolicValue.integer(op == .increment ? bits.add(one) : bits.sub(one), signed: signed)
            assign(new, to: operand, &state)
            return prefix ? new : .integer(bits, signed: signed)
        case let .binary(op, lhs, rhs):
            return binary(op, lhs, rhs, expression, &state)
        case let .ternary(condition, then, otherwise):
            let test = truth(condition, &state)
            var thenState = state, elseState = state
            let a = evaluate(then, &thenState)
            let b = evaluate(otherwise, &elseState)
            state = merge(thenState, elseState, when: test, base: state)
            guard let value = select(test, a, b) else {
                return unsupported("?: with branches of different types", expression, &state)
            }
            return value
        case let .cast(type, operand):
            return cast(type, operand, expression, &state)
        case let .fieldAccess(base, field, arrow):
            return fieldAccess(base, field: field, arrow: arrow, expression, asObject: asObject, &state)
        case .index:
            return unsupported("array indexing", expression, &state)
        case let .tuple(elements):
            return .tuple(elements.map { evaluate($0, &state) })
        case let .sizeof(operand):
            if case let .type(type) = operand, case let .integer(bits, _)? = Defaults.shape(of: type) {
                return .integer(context.bitVector(UInt64(bits / 8), width: 64), signed: false)
            }
            return unsupported("sizeof(\(ExpressionText.render(expression)))", expression, &state)
        case .offsetof:
            return unsupported("offsetof", expression, &state)
        case .error:
            return unsupported("an expression that failed to parse", expression, &state)
        }
    }

    /// Why `expressions` cannot be evaluated exactly when `what` of an untyped field they hold
    /// matters to `construct`; nil when every type is known (docs/semantics.md, "Types").
    func untypedOrigin(_ expressions: [Expression], matters what: String, for construct: String) -> String? {
        guard let origin = expressions.lazy.compactMap(untyped.origin(of:)).first else { return nil }
        return "\(what) of \(origin) is unknown without kernel types, and \(construct) depends on it"
    }

    /// Records that the path met something the verifier does not model, and returns an
    /// unconstrained value so execution can go on; every assert after it is UNKNOWN.
    func unsupported(_ what: String, _ expression: Expression, _ state: inout PathState) -> SymbolicValue {
        state.unsupported.append(Unsupported(what: what, location: expression.range.start))
        return freshValue(named: uniqueName("unsupported"), shape: .u64, valueBits: nil)
    }

    /// `E` as a condition (non-zero is true).
    func truth(_ expression: Expression, _ state: inout PathState) -> Z3Bool {
        let value = evaluate(expression, &state)
        if let condition = value.truth(context) { return condition }
        _ = unsupported("\(ExpressionText.render(expression)) used as a condition", expression, &state)
        return context.boolConstant(uniqueName("condition"))
    }

    // MARK: Builtins

    func builtin(_ name: String, _ expression: Expression) -> SymbolicValue {
        if name == "args" { return .args }
        let typed = expression.type.flatMap(ValueShape.init)
        if Defaults.freshEachRead.contains(name) {
            return freshRead(name, shape: typed ?? .u64)
        }
        if let known = Defaults.builtin(name) {
            var shape = typed ?? known.shape
            if case .string = known.shape { shape = known.shape }
            return environmentValue(name, shape: shape, valueBits: known.valueBits)
        }
        if typed == nil { note("builtin \(name) is modelled as an unconstrained 64-bit value") }
        return environmentValue(name, shape: typed ?? .u64)
    }

    // MARK: Operators

    func unary(_ op: UnaryOperator, _ operand: Expression, _ expression: Expression,
               _ state: inout PathState) -> SymbolicValue {
        switch op {
        case .logicalNot:
            return .boolean(truth(operand, &state).not)
        case .plus, .negate, .bitNot:
            // Unary operators keep their operand's width and signedness (bpftrace 0.17:
            // `~(uint16)0` is 0xffff, `-(uint32)1` is 0xffffffff).
            let value = evaluate(operand, &state)
            if op != .plus, let unknown = untypedOrigin([operand], matters: "the width", for: "unary " + op.rawValue) {
                return unsupported(unknown, expression, &state)
            }
            let bits: Z3BitVector, signed: Bool
            if case let .integer(raw, rawSigned) = value {
                (bits, signed) = (raw, rawSigned)
            } else if let widened = value.widened(context) {
                (bits, signed) = widened
            } else {
                return unsupported("\(op.rawValue) on a non-integer", expression, &state)
            }
            switch op {
            case .negate: return .integer(bits.neg, signed: signed)
            case .bitNot: return .integer(bits.not, signed: signed)
            default: return .integer(bits, signed: signed)
            }
        case .dereference:
            let value = evaluate(operand, &state)
            guard value.widened(context) != nil else {
                return unsupported("dereference of a non-pointer", expression, &state)
            }
            let shape = expression.type.flatMap(ValueShape.init) ?? .u64
            guard case let .integer(bits, signed) = shape else {
                return unsupported("dereference yielding \(shape)", expression, &state)
            }
            if expression.type == nil {
                note("type of \(ExpressionText.render(expression)) unknown: read as 64 bits"
                     + (options.untypedFields == .assumeUInt64 ? ", assumed uint64" : "; where its width or signedness matters the assert is UNKNOWN"))
            }
            let read = pointerRead(ExpressionText.render(expression), shape: .integer(bits: bits, signed: signed),
                                   at: expression.range.start, &state)
            if expression.type == nil { recordUntyped(ExpressionText.render(expression), read) }
            return read
        case .addressOf:
            return unsupported("address-of (&)", expression, &state)
        }
    }

    func binary(_ op: BinaryOperator, _ lhs: Expression, _ rhs: Expression, _ expression: Expression,
                _ state: inout PathState) -> SymbolicValue {
        switch op {
        case .logicalAnd, .logicalOr:
            // Short-circuit: the right side runs (and changes state) only when it must.
            let left = truth(lhs, &state)
            var rightState = state
            let right = truth(rhs, &rightState)
            let runsRight = op == .logicalAnd ? left : left.not
            state = merge(rightState, state, when: runsRight, base: state)
            return .boolean(op == .logicalAnd ? left.and(right) : left.or(right))
        default:
            let left = evaluate(lhs, &state)
            let right = evaluate(rhs, &state)
            if [.less, .lessEqual, .greater, .greaterEqual].contains(op),
               let unknown = untypedOrigin([lhs, rhs], matters: "the signedness", for: op.rawValue) {
                return unsupported(unknown, expression, &state)
            }
            return apply(op, left, right, expression, &state)
        }
    }

    /// bpftrace's integer rules (checked against bpftrace 0.17 itself, see BpftraceOracleTests):
    /// both operands are widened to 64 bits by their own signedness; comparisons are signed only
    /// when both operands are; `/` and `%` are always unsigned, with eBPF's x/0 = 0 and
    /// x%0 = x; `>>` is always logical; a shift by 64 or more is undefined (any value).
    func apply(_ op: BinaryOperator, _ left: SymbolicValue, _ right: SymbolicValue, _ expression: Expression,
               _ state: inout PathState) -> SymbolicValue {
        if case let .string(a) = left, case let .string(b) = right {
            let (x, y) = Self.padToSameWidth(a, b)
            switch op {
            case .equal: return .boolean(x.eq(y))
            case .notEqual: return .boolean(x.ne(y))
            default: return unsupported("operator \(op.rawValue) on strings", expression, &state)
            }
        }
        guard let (l, ls) = left.widened(context), let (r, rs) = right.widened(context) else {
            return unsupported("operator \(op.rawValue) on \(describe(left)) and \(describe(right))", expression, &state)
        }
        let signed = ls && rs
        let zero = context.bitVector(UInt64(0), width: 64)
        switch op {
        case .add: return .integer(l.add(r), signed: signed)
        case .subtract: return .integer(l.sub(r), signed: signed)
        case .multiply: return .integer(l.mul(r), signed: signed)
        case .divide: return .integer(r.eq(zero).ite(zero, l.udiv(r)), signed: signed)
        case .modulo: return .integer(r.eq(zero).ite(l, l.urem(r)), signed: signed)
        case .bitAnd: return .integer(l.and(r), signed: signed)
        case .bitOr: return .integer(l.or(r), signed: signed)
        case .bitXor: return .integer(l.xor(r), signed: signed)
        case .shiftLeft, .shiftRight:
            // A shift by 64 or more is undefined in LLVM IR (bpftrace's constant folding gives 0,
            // the JIT masks the amount): any value.
            let shifted = op == .shiftLeft ? l.shl(r) : l.lshr(r)
            let inRange = r.ult(context.bitVector(UInt64(64), width: 64))
            if inRange.simplified.literalValue == true { return .integer(shifted, signed: signed) }
            guard case let .integer(undefined, _) = freshValue(
                named: uniqueName("shift"), shape: .u64, valueBits: nil) else { return .integer(shifted, signed: signed) }
            return .integer(inRange.ite(shifted, undefined), signed: signed)
        case .equal: return .boolean(l.eq(r))
        case .notEqual: return .boolean(l.ne(r))
        case .less: return .boolean(signed ? l.slt(r) : l.ult(r))
        case .lessEqual: return .boolean(signed ? l.sle(r) : l.ule(r))
        case .greater: return .boolean(signed ? l.sgt(r) : l.ugt(r))
        case .greaterEqual: return .boolean(signed ? l.sge(r) : l.uge(r))
        case .logicalAnd, .logicalOr:
            // Reached only through compound forms; `binary` handles && and || with short-circuit.
            let a = l.isNonZero, b = r.isNonZero
            return .boolean(op == .logicalAnd ? a.and(b) : a.or(b))
        }
    }

    func describe(_ value: SymbolicValue) -> String {
        value.shape?.description ?? "args"
    }

    static func padToSameWidth(_ a: Z3BitVector, _ b: Z3BitVector) -> (Z3BitVector, Z3BitVector) {
        let width = max(a.width, b.width)
        return (a.zeroExtend(by: width - a.width), b.zeroExtend(by: width - b.width))
    }

    // MARK: Casts

    func cast(_ type: TypeName, _ operand: Expression, _ expression: Expression,
              _ state: inout PathState) -> SymbolicValue {
        let value = evaluate(operand, &state)
        guard let shape = Defaults.shape(of: type) else {
            return unsupported("cast to \(type)", expression, &state)
        }
        if type.pointerDepth == 0, type.base == "bool" || type.base == "_Bool" {
            // C conversion to bool is "non-zero", not truncation to the low byte.
            guard let condition = value.truth(context) else {
                return unsupported("cast of \(describe(value)) to \(type)", expression, &state)
            }
            return .integer(condition.ite(context.bitVector(UInt64(1), width: 8), context.bitVector(UInt64(0), width: 8)),
                            signed: false)
        }
        switch shape {
        case let .integer(bits, signed):
            let source: (Z3BitVector, Bool)
            switch value {
            case let .integer(raw, rawSigned): source = (raw, rawSigned)
            default:
                guard let widened = value.widened(context) else {
                    return unsupported("cast of \(describe(value)) to \(type)", expression, &state)
                }
                source = widened
            }
            // Narrowing keeps the low bits; widening extends by the source's signedness (C rules).
            return .integer(source.0.resized(to: bits, signed: source.1), signed: signed)
        case let .pointer(pointee):
            guard let (address, _) = value.widened(context) else {
                return unsupported("cast of \(describe(value)) to \(type)", expression, &state)
            }
            return .pointer(address, pointee: pointee)
        case .record, .string, .tuple:
            return unsupported("cast to \(type)", expression, &state)
        }
    }

    /// `if c then a else b` for two values of compatible shapes.
    func select(_ condition: Z3Bool, _ a: SymbolicValue, _ b: SymbolicValue) -> SymbolicValue? {
        switch (a, b) {
        case let (.integer(x, xs), .integer(y, ys)) where x.width == y.width && xs == ys:
            return .integer(condition.ite(x, y), signed: xs)
        case let (.boolean(x), .boolean(y)):
            return .boolean(condition.ite(x, y))
        case let (.string(x), .string(y)):
            let (px, py) = Self.padToSameWidth(x, y)
            return .string(condition.ite(px, py))
        case let (.pointer(x, pointee), .pointer(y, _)):
            return .pointer(condition.ite(x, y), pointee: pointee)
        case let (.tuple(xs), .tuple(ys)) where xs.count == ys.count:
            var elements: [SymbolicValue] = []
            for (x, y) in zip(xs, ys) {
                guard let element = select(condition, x, y) else { return nil }
                elements.append(element)
            }
            return .tuple(elements)
        case let (.object(x), .object(y)) where x.path == y.path && x.record == y.record:
            var merged = x
            merged.address = condition.ite(x.address, y.address)
            return .object(merged)
        case (.args, .args):
            return .args
        default:
            guard let (x, xs) = a.widened(context), let (y, ys) = b.widened(context) else { return nil }
            return .integer(condition.ite(x, y), signed: xs && ys)
        }
    }

    /// Joins two states that split at `condition` (true → `whenTrue`). Both descend from `base`,
    /// so only variables and maps can differ; their new findings are concatenated.
    func merge(_ whenTrue: PathState, _ whenFalse: PathState, when condition: Z3Bool,
               base: PathState) -> PathState {
        var result = whenTrue
        for (name, falseValue) in whenFalse.variables {
            if let trueValue = whenTrue.variables[name] {
                result.variables[name] = select(condition, trueValue, falseValue) ?? trueValue
            } else {
                result.variables[name] = falseValue
            }
        }
        for (name, falseMap) in whenFalse.maps {
            let trueMap = whenTrue.maps[name] ?? initialMap(name)
            result.maps[name] = condition.ite(trueMap, falseMap)
        }
        for (name, trueMap) in whenTrue.maps where whenFalse.maps[name] == nil {
            result.maps[name] = condition.ite(trueMap, initialMap(name))
        }
        result.unsupported += whenFalse.unsupported.dropFirst(base.unsupported.count)
        result.events += whenFalse.events.dropFirst(base.events.count)
        return result
    }
}
