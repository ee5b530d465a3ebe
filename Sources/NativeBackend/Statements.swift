import BpftraceSyntax
import NativeABI

/// Statements: assignments (a variable keeps the kind of its first assignment), control flow
/// (if/else, unroll, bounded while and for, break, continue, return). `assume`/`assert` are
/// annotations: they never run.
extension FunctionEmitter {
    func emit(_ block: Block) throws(NativeCompileError) {
        for statement in block.statements { try emit(statement) }
    }

    func emit(_ s: Statement) throws(NativeCompileError) {
        switch s.kind {
        case let .expression(e):
            let v = try emit(e)
            if let lines = v.statements {
                for line in lines { body.line(line) }
            } else {
                body.line("\(v.kind == .none ? "" : "(void)")\(v.c);")
            }
        case let .assignment(target, op, value):
            try assign(target, op: op, value)
        case let .letDeclaration(name, type, value):
            if let type {
                let kind = try declaredKind(type)
                _ = declare(name, kind)
            }
            if let value { try assign(Expression(.variable(name)), op: .assign, value) }
        case let .ifStatement(condition, then, otherwise):
            try nested("if (\(try truth(emit(condition)))) {", then, closing: otherwise == nil ? "}" : nil)
            if let otherwise { try nested("} else {", otherwise) }
        case let .unroll(count, inner):
            guard case let .integer(literal) = count.kind, let n = literal.value, n <= 100 else {
                throw .unsupported(.init("unroll with a count that is not a constant up to 100"))
            }
            for _ in 0..<n { try nested("{", inner) }
        case let .whileLoop(condition, inner):
            try nested("while (\(try truth(emit(condition)))) {", inner)
        case let .forRange(variable, start, end, inner):
            let a = try emit(start), b = try emit(end)
            let v = declare(variable, .s64)
            try nested("for (\(v.c) = (__s64)\(try widened(a)); (__s64)\(v.c) < (__s64)\(try widened(b)); \(v.c) = (__s64)((__u64)\(v.c) + 1)) {", inner)
        case .forMap:
            throw .unsupported(.init("for over a map"))
        case .breakStatement:
            body.line("break;")
        case .continueStatement:
            body.line("continue;")
        case .returnStatement:
            body.line("return 0;")
        case let .block(inner):
            try nested("{", inner)
        case .assume, .assert:
            break
        }
    }

    /// `opening`, the block one level deeper, then `closing` (none: the next line closes it,
    /// as `} else {` does).
    func nested(_ opening: String, _ block: Block, closing: String? = "}") throws(NativeCompileError) {
        body.line(opening)
        body.indent()
        try emit(block)
        body.dedent()
        if let closing { body.line(closing) }
    }

    /// The kind a `let $x: TYPE` declares.
    func declaredKind(_ type: TypeName) throws(NativeCompileError) -> ValueKind {
        if type.pointerDepth == 0, type.arrayCount == nil {
            if let (bits, signed) = BpftraceNames.integerType(type.base) { return .integer(bits: bits, signed: signed) }
            if type.base == "bool" { return .boolean }
            if type.base == "string" { return .string(size: 64) }
        }
        throw .unsupported(.init("let of type \(type)"))
    }

    /// Declares `$name` with `kind` (first use only) and returns its lvalue.
    @discardableResult
    func declare(_ name: String, _ kind: ValueKind) -> CValue {
        if let v = variables[name] { return v }
        let cName = "v_" + CLiteral.identifier(name)
        let v: CValue
        if let type = kind.cScalarType {
            locals.append("\(type) \(cName) = 0;")
            v = CValue(c: cName, kind: kind)
        } else {
            v = CValue(c: frameBuffer(kind.byteSize, name: cName), kind: kind)
        }
        variables[name] = v
        return v
    }

    func assign(_ target: Expression, op: AssignmentOperator, _ value: Expression) throws(NativeCompileError) {
        switch target.kind {
        case let .variable(name):
            let v = try emit(value)
            if let binary = op.binaryOperator {
                guard let current = variables[name] else { throw .unresolved("use of undefined variable '$\(name)'") }
                let result = try apply(binary, current, v)
                body.line(try store(result, into: current.c, as: current.kind))
                return
            }
            if v.kind == .none || v.kind == .args { throw .unsupported(.init("assigning \(v.kind) to $\(name)")) }
            let variable = declare(name, v.kind)
            body.line(try store(v, into: variable.c, as: variable.kind))
        case let .map(name, keys):
            if let binary = op.binaryOperator {
                let v = try emit(value)
                let updated = try mapUpdate(name, keys: keys, op: binary, value: v, returnOld: false)
                body.line("(void)\(updated.c);")
                return
            }
            let lines = try mapAssign(name, keys: keys, value: value)
            body.line("{")
            body.indent()
            for line in lines { body.line(line) }
            body.dedent()
            body.line("}")
        default:
            throw .unsupported(.init("assigning to this expression"))
        }
    }
}
