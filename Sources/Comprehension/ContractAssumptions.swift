import BpftraceSyntax
import Contracts

/// The assumes Ken derives without an LLM: each contract fact about a value the probe actually
/// reads becomes `assume(lo <= x && x <= hi)` at the start of the probe body. Facts about
/// values the probe never reads are left out: they cannot change a verdict, only add noise.
enum ContractAssumptions {
    /// What a probe reads, collected once.
    struct Uses {
        var argsFields: Set<String> = []
        var builtins: Set<String> = []
        var readsRetval = false
        /// Whether the probe writes `args->f` (bpftrace 0.17 style) rather than `args.f`.
        var usesArrow = false

        init(_ probe: Probe) {
            var expressions: [Expression] = []
            if let predicate = probe.predicate { expressions.append(predicate) }
            ProgramWalk.expressions(in: probe.body) { expressions.append($0) }
            for root in expressions {
                root.forEachNode { e in
                    switch e.kind {
                    case let .fieldAccess(base, field, arrow):
                        if case .builtin("args") = base.kind {
                            argsFields.insert(field)
                            if arrow { usesArrow = true }
                        }
                    case let .builtin(name):
                        if name == "retval" { readsRetval = true }
                        builtins.insert(name)
                    case let .call(name, arguments) where arguments.isEmpty:
                        builtins.insert(name)
                    default:
                        break
                    }
                }
            }
        }
    }

    static func annotations(probeIndex: Int, probe: Probe, spec: ProbeSpec?, contract: ProbeContract?,
                            builtinFacts: [ContractFact]) -> [Annotation] {
        let uses = Uses(probe)
        let name = probe.attachPoints.map(\.text).joined(separator: ",")
        var out: [Annotation] = []
        var seen = Set<String>()
        func add(_ subject: Expression, _ fact: ContractFact) {
            let statement = Statement(.assume(rangeExpression(subject, fact.range)))
            let annotation = Annotation(probeIndex: probeIndex, probe: name, statement: statement,
                                        origin: .contract, atEnd: false)
            if seen.insert(annotation.text).inserted { out.append(annotation) }
        }
        if let spec, let contract {
            for fact in contract.facts {
                if let subject = subjectExpression(fact.subject, spec: spec, uses: uses) { add(subject, fact) }
            }
        }
        for fact in builtinFacts {
            guard case let .builtin(builtin) = fact.subject, uses.builtins.contains(builtin) else { continue }
            add(Expression(.builtin(builtin)), fact)
        }
        return out
    }

    /// How the probe spells the fact's subject; nil when it does not read it, or when the probe
    /// kind exposes it only as an untyped register (kprobe `argN`, kretprobe `retval`), where
    /// the upper bits of a narrower C type are not guaranteed and a range would be unsound.
    static func subjectExpression(_ subject: ContractFact.Subject, spec: ProbeSpec, uses: Uses) -> Expression? {
        switch subject {
        case let .argument(name, _):
            guard !name.isEmpty, uses.argsFields.contains(name) else { return nil }
            switch spec.access {
            case .tracepointArgs, .namedArgs, .namedArgsAndReturn:
                return Expression(.fieldAccess(Expression(.builtin("args")), field: name, arrow: uses.usesArrow))
            case .positional, .positionalReturn:
                return nil
            }
        case .returnValue:
            guard spec.access == .namedArgsAndReturn, uses.readsRetval else { return nil }
            return Expression(.builtin("retval"))
        case let .builtin(name):
            return uses.builtins.contains(name) ? Expression(.builtin(name)) : nil
        }
    }

    static func rangeExpression(_ subject: Expression, _ range: ValueRange) -> Expression {
        let lower = Expression(.binary(.greaterEqual, subject, literal(range.min)))
        if range.max == Int64.max { return lower }
        let upper = Expression(.binary(.lessEqual, subject, literal(range.max)))
        if range.min == Int64.min { return upper }
        return Expression(.binary(.logicalAnd, lower, upper))
    }

    static func literal(_ value: Int64) -> Expression {
        if value < 0 {
            return Expression(.unary(.negate, Expression(.integer(IntegerLiteral(value.magnitude)))))
        }
        return Expression(.integer(IntegerLiteral(UInt64(value))))
    }
}

/// Statement/expression traversal helpers shared by the engine's passes.
enum ProgramWalk {
    /// Calls `visit` with every top-level expression of every statement in `block`, recursively.
    static func expressions(in block: Block, _ visit: (Expression) -> Void) {
        for statement in block.statements { expressions(in: statement, visit) }
    }

    static func expressions(in statement: Statement, _ visit: (Expression) -> Void) {
        switch statement.kind {
        case let .expression(e), let .assume(e), let .assert(e, _):
            visit(e)
        case let .assignment(target, _, value):
            visit(target)
            visit(value)
        case let .letDeclaration(_, _, value):
            if let value { visit(value) }
        case let .ifStatement(condition, then, otherwise):
            visit(condition)
            expressions(in: then, visit)
            if let otherwise { expressions(in: otherwise, visit) }
        case let .unroll(count, body):
            visit(count)
            expressions(in: body, visit)
        case let .whileLoop(condition, body):
            visit(condition)
            expressions(in: body, visit)
        case let .forMap(_, map, body):
            visit(map)
            expressions(in: body, visit)
        case let .forRange(_, start, end, body):
            visit(start)
            visit(end)
            expressions(in: body, visit)
        case let .returnStatement(e):
            if let e { visit(e) }
        case let .block(body):
            expressions(in: body, visit)
        case .breakStatement, .continueStatement:
            break
        }
    }
}
