import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// Expressions, with the integer rules of docs/semantics.md: operands widened to 64 bits by
/// their own signedness, results signed only when both operands are, unsigned `/` and `%`
/// with x/0 == 0 and x%0 == x, logical `>>`, shifts by 64 or more defined (0), unary `-`/`~`
/// keeping the operand's width, casts truncating or extending by the source's signedness.
extension FunctionEmitter {
    func emit(_ e: Expression) throws(NativeCompileError) -> CValue {
        switch e.kind {
        case let .integer(literal):
            guard let value = literal.value else { throw .unresolved("integer literal \(literal.text) does not fit in 64 bits") }
            if value <= UInt64(Int64.max) { return CValue(c: "((__s64)\(value)LL)", kind: .s64) }
            return CValue(c: "((__u64)\(value)ULL)", kind: .u64)
        case let .string(text):
            return CValue(c: CLiteral.string(text), kind: .string(size: text.utf8.count + 1))
        case let .boolean(value):
            return CValue(c: "((__u8)\(value ? 1 : 0))", kind: .boolean)
        case let .variable(name):
            guard let v = variables[name] else { throw .unresolved("use of undefined variable '$\(name)'") }
            return v
        case let .map(name, keys):
            return try mapRead(name, keys: keys)
        case .positional, .positionalCount:
            throw .unsupported(.init("positional parameters"))
        case let .builtin(name):
            return try builtin(name, e)
        case let .identifier(name):
            if let value = object.defines[name] ?? kernel.btf?.enumerator(name) ?? KernelConstants.value(name) {
                return CValue(c: "((__s64)\(value)LL)", kind: .s64)
            }
            throw .unsupported(.init("identifier \(name) (a macro from a header)"))
        case let .call(name, arguments):
            return try call(name, arguments, e)
        case let .unary(op, operand):
            return try unary(op, operand, e)
        case let .incrementDecrement(op, prefix, operand):
            return try incrementDecrement(op, prefix: prefix, operand)
        case let .binary(op, lhs, rhs):
            return try binary(op, lhs, rhs)
        case let .ternary(condition, then, otherwise):
            let c = try truth(emit(condition))
            let a = try emit(then), b = try emit(otherwise)
            if let ta = a.kind.integerShape, let tb = b.kind.integerShape {
                if a.kind == b.kind { return CValue(c: "(\(c) ? \(a.c) : \(b.c))", kind: a.kind) }
                let signed = ta.signed && tb.signed
                let type = signed ? "__s64" : "__u64"
                return CValue(c: "(\(c) ? (\(type))\(try widened(a)) : (\(type))\(try widened(b)))",
                              kind: .integer(bits: 64, signed: signed))
            }
            let kind = try joined(a.kind, b.kind)
            let t = frameBuffer(kind.byteSize)
            return CValue(c: "({ if (\(c)) { \(try store(a, into: t, as: kind)) } else { \(try store(b, into: t, as: kind)) } \(t); })", kind: kind)
        case let .cast(type, operand):
            return try cast(type, operand, e)
        case let .fieldAccess(base, field, _):
            return try fieldAccess(base, field: field, e)
        case let .index(base, index):
            return try self.index(base, index)
        case let .tuple(elements):
            let values = try elements.map { (x) throws(NativeCompileError) in try emit(x) }
            let kinds = values.map { v -> ValueKind in
                if case let .integer(_, s) = v.kind { return .integer(bits: 64, signed: s) }
                return v.kind
            }
            guard let layout = RecordLayout(kinds) else { throw .unsupported(.init("a tuple of \(kinds)")) }
            let t = frameBuffer(layout.size)
            var parts = [cZero(t, layout.size)]
            for (i, v) in values.enumerated() {
                parts.append(try store(v, into: elementLValue(t, kind: kinds[i], offset: layout.fields[i].offset), as: kinds[i]))
            }
            return CValue(c: "({ \(parts.joined(separator: " ")) \(t); })", kind: .tuple(kinds))
        case let .sizeof(operand):
            switch operand {
            case let .type(typeName):
                if let (bits, _) = BpftraceNames.integerType(typeName.base), typeName.pointerDepth == 0, typeName.arrayCount == nil {
                    return CValue(c: "((__u64)\(bits / 8))", kind: .u64)
                }
                if typeName.pointerDepth > 0 { return CValue(c: "((__u64)8)", kind: .u64) }
                if let c = kernel.btf?.type(named: typeName.base), let size = c.byteSize {
                    return CValue(c: "((__u64)\(size * (typeName.arrayCount ?? 1)))", kind: .u64)
                }
                throw .unsupported(.init("sizeof(\(typeName))"))
            case let .expression(inner):
                let v = try emit(inner)
                return CValue(c: "((__u64)\(v.kind.integerShape.map { $0.bits / 8 } ?? v.kind.byteSize))", kind: .u64)
            }
        case .offsetof:
            throw .unsupported(.init("offsetof"))
        case .error:
            throw .unresolved("the program has a syntax error")
        }
    }

    /// The common kind of the two branches of `?:` (strings: the larger).
    func joined(_ a: ValueKind, _ b: ValueKind) throws(NativeCompileError) -> ValueKind {
        if a == b { return a }
        if case let .string(x) = a, case let .string(y) = b { return .string(size: max(x, y)) }
        throw .unsupported(.init("?: with branches of types \(a) and \(b)"))
    }

    // MARK: Operators

    func unary(_ op: UnaryOperator, _ operand: Expression, _ e: Expression) throws(NativeCompileError) -> CValue {
        switch op {
        case .logicalNot:
            return CValue(c: "((__u64)!\(try truth(emit(operand))))", kind: .u64)
        case .plus:
            return try emit(operand)
        case .negate, .bitNot:
            let v = try emit(operand)
            guard let shape = v.kind.integerShape else { throw .unsupported(.init("\(op.rawValue) on \(v.kind)")) }
            // Unary operators keep their operand's width and signedness.
            let type = ValueKind.cInteger(bits: shape.bits, signed: shape.signed)
            let body = op == .negate ? "(0 - \(try widened(v)))" : "(~\(try widened(v)))"
            return CValue(c: "((\(type))\(body))", kind: .integer(bits: shape.bits, signed: shape.signed))
        case .dereference:
            let v = try emit(operand)
            return try dereference(v, e)
        case .addressOf:
            throw .unsupported(.init("address-of (&)"))
        }
    }

    func binary(_ op: BinaryOperator, _ lhs: Expression, _ rhs: Expression) throws(NativeCompileError) -> CValue {
        if op == .logicalAnd || op == .logicalOr {
            let l = try truth(emit(lhs)), r = try truth(emit(rhs))
            return CValue(c: "((__u64)(\(l) \(op.rawValue) \(r)))", kind: .u64)
        }
        let l = try emit(lhs), r = try emit(rhs)
        if case let .string(sa) = l.kind, case let .string(sb) = r.kind {
            guard op == .equal || op == .notEqual else { throw .unsupported(.init("operator \(op.rawValue) on strings")) }
            let cmp = "ken_strncmp(\(l.c), \(sa), \(r.c), \(sb), \(max(sa, sb)))"
            return CValue(c: op == .equal ? "((__u64)!\(cmp))" : "((__u64)(\(cmp) != 0))", kind: .u64)
        }
        return try apply(op, l, r)
    }

    /// A binary integer operator on two values.
    func apply(_ op: BinaryOperator, _ l: CValue, _ r: CValue) throws(NativeCompileError) -> CValue {
        let a = try widened(l), b = try widened(r)
        let signed = isSigned(l.kind) && isSigned(r.kind)
        let result: String
        switch op {
        case .add: result = "(\(a) + \(b))"
        case .subtract: result = "(\(a) - \(b))"
        case .multiply: result = "(\(a) * \(b))"
        case .divide: result = "ken_div(\(a), \(b))"
        case .modulo: result = "ken_mod(\(a), \(b))"
        case .bitAnd: result = "(\(a) & \(b))"
        case .bitOr: result = "(\(a) | \(b))"
        case .bitXor: result = "(\(a) ^ \(b))"
        case .shiftLeft: result = "ken_shl(\(a), \(b))"
        case .shiftRight: result = "ken_shr(\(a), \(b))"
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
            let x = signed ? "(__s64)\(a)" : a, y = signed ? "(__s64)\(b)" : b
            return CValue(c: "((__u64)(\(x) \(op.rawValue) \(y)))", kind: .u64)
        case .logicalAnd, .logicalOr:
            return CValue(c: "((__u64)(\(a) != 0 \(op.rawValue) \(b) != 0))", kind: .u64)
        }
        return CValue(c: signed ? "((__s64)\(result))" : result, kind: .integer(bits: 64, signed: signed))
    }

    // MARK: Casts

    func cast(_ type: TypeName, _ operand: Expression, _ e: Expression) throws(NativeCompileError) -> CValue {
        let v = try emit(operand)
        if type.pointerDepth > 0 {
            guard v.kind.isScalar else { throw .unsupported(.init("cast of \(v.kind) to \(type)")) }
            let target = pointerTarget(of: resolved.kernelValue(of: e)?.cType, user: false)
            return CValue(c: "((__u64)(\(v.c)))", kind: .pointer(target))
        }
        if type.arrayCount != nil || type.isRecord { throw .unsupported(.init("cast to \(type)")) }
        if type.base == "bool" {
            return CValue(c: "((__u8)(\(try truth(v))))", kind: .boolean)
        }
        var shape = BpftraceNames.integerType(type.base)
        if shape == nil, let c = resolved.kernelValue(of: e)?.cType.resolved {
            switch c {
            case let .integer(i): shape = (max(8, i.bits), i.signed)
            case let .enumeration(_, bits, signed): shape = (bits, signed)
            default: break
            }
        }
        guard let (bits, signed) = shape, v.kind.isScalar else { throw .unsupported(.init("cast of \(v.kind) to \(type)")) }
        let cType = ValueKind.cInteger(bits: bits, signed: signed)
        return CValue(c: "((\(cType))(\(v.c)))", kind: .integer(bits: bits, signed: signed))
    }

    /// What a pointer of C type `c` points to.
    func pointerTarget(of c: CType?, user: Bool) -> PointerTarget {
        guard let c, case let .pointer(pointee) = c.resolved else {
            return PointerTarget(cType: "void", pointee: nil, user: user)
        }
        return PointerTarget(cType: pointee.description, pointee: pointee, user: user)
    }

    // MARK: Increment, decrement

    func incrementDecrement(_ op: IncrementDecrementOperator, prefix: Bool, _ operand: Expression) throws(NativeCompileError) -> CValue {
        let step: BinaryOperator = op == .increment ? .add : .subtract
        let one = CValue(c: "((__s64)1LL)", kind: .s64)
        switch operand.kind {
        case let .variable(name):
            guard let v = variables[name], let type = v.kind.cScalarType else {
                throw .unsupported(.init("\(op.rawValue) on $\(name)"))
            }
            let old = fresh("_o")
            let oldValue = CValue(c: old, kind: v.kind)
            let new = try apply(step, oldValue, one)
            let result = prefix ? new : CValue(c: "((\(new.kind.cScalarType!))\(try widened(oldValue)))", kind: new.kind)
            return CValue(c: "({ \(type) \(old) = \(v.c); \(v.c) = (\(type))\(new.c); \(result.c); })", kind: new.kind)
        case let .map(name, keys):
            return try mapUpdate(name, keys: keys, op: step, value: one, returnOld: !prefix)
        default:
            throw .unsupported(.init("\(op.rawValue) on this expression"))
        }
    }

    // MARK: Indexing

    func index(_ base: Expression, _ index: Expression) throws(NativeCompileError) -> CValue {
        let b = try emit(base)
        guard case let .integer(literal) = index.kind, let i = literal.value else {
            throw .unsupported(.init("indexing with a non-constant index"))
        }
        switch b.kind {
        case let .array(bits, signed, count):
            guard i < UInt64(count) else { throw .unresolved("index \(i) is past the end of a \(count)-element array") }
            let type = ValueKind.cInteger(bits: bits, signed: signed)
            return CValue(c: "(((\(type) *)(\(b.c)))[\(i)])", kind: .integer(bits: bits, signed: signed))
        case let .string(size):
            guard i < UInt64(size) else { throw .unresolved("index \(i) is past the end of a \(size)-byte string") }
            return CValue(c: "(((__s8 *)(\(b.c)))[\(i)])", kind: .integer(bits: 8, signed: true))
        case let .pointer(target):
            guard let pointee = target.pointee, let size = pointee.byteSize else {
                throw .unsupported(.init("indexing a pointer to \(target.cType)"))
            }
            let address = "((\(try widened(b))) + \(Int(i) * size))"
            return try readMemory(address: address, type: pointee, user: target.user)
        default:
            throw .unsupported(.init("indexing \(b.kind)"))
        }
    }
}
