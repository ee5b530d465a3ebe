/// Generic bottom-up tree rewriting, shared by lowering, annotation stripping and location
/// erasure so each of those stays a few lines about *what* changes.
extension Expression {
    /// Rewrites children first, then applies `f` to the rebuilt node.
    public func transformed(_ f: (Expression) -> Expression) -> Expression {
        var copy = self
        copy.kind = kind.mapChildren { $0.transformed(f) }
        return f(copy)
    }

    /// Visits this node and every descendant, parents before children.
    public func forEachNode(_ visit: (Expression) -> Void) {
        visit(self)
        kind.forEachChild { $0.forEachNode(visit) }
    }
}

extension ExpressionKind {
    /// The same node with each direct child expression replaced by `f(child)`.
    public func mapChildren(_ f: (Expression) -> Expression) -> ExpressionKind {
        switch self {
        case .integer, .string, .boolean, .variable, .positional, .positionalCount, .builtin,
             .identifier, .error:
            return self
        case let .map(name, keys): return .map(name: name, keys: keys.map(f))
        case let .call(name, arguments): return .call(name: name, arguments: arguments.map(f))
        case let .unary(op, e): return .unary(op, f(e))
        case let .incrementDecrement(op, prefix, e): return .incrementDecrement(op, prefix: prefix, f(e))
        case let .binary(op, l, r): return .binary(op, f(l), f(r))
        case let .ternary(c, t, e): return .ternary(condition: f(c), then: f(t), else: f(e))
        case let .cast(type, e): return .cast(type, f(e))
        case let .fieldAccess(base, field, arrow): return .fieldAccess(f(base), field: field, arrow: arrow)
        case let .index(base, i): return .index(f(base), f(i))
        case let .tuple(elements): return .tuple(elements.map(f))
        case let .sizeof(.expression(e)): return .sizeof(.expression(f(e)))
        case .sizeof(.type): return self
        case let .offsetof(.expression(e), field): return .offsetof(.expression(f(e)), field: field)
        case .offsetof(.type, _): return self
        }
    }

    public func forEachChild(_ visit: (Expression) -> Void) {
        _ = mapChildren { visit($0); return $0 }
    }
}

/// A bottom-up rewrite of statements and expressions.
public struct TreeTransform {
    public var expression: (Expression) -> Expression
    /// Replaces a statement (after its children were rewritten) by zero or more statements.
    public var statement: (Statement) -> [Statement]

    public init(expression: @escaping (Expression) -> Expression = { $0 },
                statement: @escaping (Statement) -> [Statement] = { [$0] }) {
        self.expression = expression
        self.statement = statement
    }

    public func apply(_ program: Program) -> Program {
        var p = program
        p.probes = program.probes.map(apply)
        if var config = p.config {
            config.entries = config.entries.map { entry in
                var e = entry
                e.value = entry.value.transformed(expression)
                return e
            }
            p.config = config
        }
        return p
    }

    public func apply(_ probe: Probe) -> Probe {
        var p = probe
        p.predicate = probe.predicate?.transformed(expression)
        p.body = apply(probe.body)
        return p
    }

    public func apply(_ block: Block) -> Block {
        var b = block
        b.statements = block.statements.flatMap(apply)
        return b
    }

    public func apply(_ s: Statement) -> [Statement] {
        let x: (Expression) -> Expression = { $0.transformed(expression) }
        var copy = s
        switch s.kind {
        case let .expression(e): copy.kind = .expression(x(e))
        case let .assignment(t, op, v): copy.kind = .assignment(target: x(t), op: op, value: x(v))
        case let .letDeclaration(name, type, value): copy.kind = .letDeclaration(name: name, type: type, value: value.map(x))
        case let .ifStatement(c, t, e): copy.kind = .ifStatement(condition: x(c), then: apply(t), else: e.map(apply))
        case let .unroll(c, b): copy.kind = .unroll(count: x(c), body: apply(b))
        case let .whileLoop(c, b): copy.kind = .whileLoop(condition: x(c), body: apply(b))
        case let .forMap(v, m, b): copy.kind = .forMap(variable: v, map: x(m), body: apply(b))
        case let .forRange(v, s, e, b): copy.kind = .forRange(variable: v, start: x(s), end: x(e), body: apply(b))
        case .breakStatement, .continueStatement: break
        case let .returnStatement(e): copy.kind = .returnStatement(e.map(x))
        case let .block(b): copy.kind = .block(apply(b))
        case let .assume(e): copy.kind = .assume(x(e))
        case let .assert(e, m): copy.kind = .assert(x(e), message: m)
        }
        return statement(copy)
    }
}

extension Program {
    /// The same tree with every source range erased. Two programs that differ only in
    /// layout, comments or spelling-preserving whitespace compare equal after this.
    public func withoutLocations() -> Program {
        let transform = TreeTransform(
            expression: { e in var c = e; c.range = .unknown; return c },
            statement: { s in
                var c = s
                c.range = .unknown
                c.kind = Program.eraseBlockRanges(c.kind)
                return [c]
            })
        var p = transform.apply(self)
        p.range = .unknown
        p.preamble = p.preamble.map { var i = $0; i.range = .unknown; return i }
        p.mapDeclarations = p.mapDeclarations.map { var d = $0; d.range = .unknown; return d }
        if var config = p.config {
            config.range = .unknown
            config.entries = config.entries.map { var e = $0; e.range = .unknown; return e }
            p.config = config
        }
        p.probes = p.probes.map { probe in
            var q = probe
            q.range = .unknown
            q.body.range = .unknown
            q.attachPoints = q.attachPoints.map { var a = $0; a.range = .unknown; return a }
            return q
        }
        return p
    }

    private static func eraseBlockRanges(_ kind: StatementKind) -> StatementKind {
        func e(_ b: Block) -> Block { var c = b; c.range = .unknown; return c }
        switch kind {
        case let .ifStatement(c, t, el): return .ifStatement(condition: c, then: e(t), else: el.map(e))
        case let .unroll(c, b): return .unroll(count: c, body: e(b))
        case let .whileLoop(c, b): return .whileLoop(condition: c, body: e(b))
        case let .forMap(v, m, b): return .forMap(variable: v, map: m, body: e(b))
        case let .forRange(v, s, en, b): return .forRange(variable: v, start: s, end: en, body: e(b))
        case let .block(b): return .block(e(b))
        default: return kind
        }
    }

    /// Tree equality ignoring source ranges (the printer's round-trip guarantee).
    public func isStructurallyEqual(to other: Program) -> Bool {
        withoutLocations() == other.withoutLocations()
    }
}

/// Removes every Ken `assume`/`assert` annotation so the program is plain bpftrace.
public func stripAnnotations(_ program: Program) -> Program {
    TreeTransform(statement: { s in
        switch s.kind {
        case .assume, .assert: return []
        default: return [s]
        }
    }).apply(program)
}
