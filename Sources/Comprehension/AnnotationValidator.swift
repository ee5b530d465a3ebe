import BpftraceSyntax
import Contracts

/// Decides whether an LLM annotation may be added to a probe: it must only read what the
/// probe has (its assigned `$variables`, the program's maps, the probe's `args` fields) and
/// have no effect. Returns the reason it may not, for the note that reports the drop.
struct AnnotationValidator {
    let program: Program

    /// Functions an annotation may call: pure, and modelled by the verifier or the resolver.
    static let pureCalls: Set<String> = [
        "bswap", "ntohs", "htons", "ntohl", "htonl", "str", "strncmp", "strcontains", "sizeof",
    ]

    private var maps: Set<String> {
        var names = Set<String>()
        for probe in program.probes {
            var roots: [Expression] = []
            if let predicate = probe.predicate { roots.append(predicate) }
            ProgramWalk.expressions(in: probe.body) { roots.append($0) }
            for root in roots {
                root.forEachNode { if case let .map(name, _) = $0.kind { names.insert(name) } }
            }
        }
        return names
    }

    static func assignedVariables(_ block: Block) -> Set<String> {
        var names = Set<String>()
        for statement in block.statements {
            switch statement.kind {
            case let .assignment(target, _, _):
                if case let .variable(name) = target.kind { names.insert(name) }
            case let .letDeclaration(name, _, _):
                names.insert(name)
            case let .expression(e):
                if case let .incrementDecrement(_, _, operand) = e.kind, case let .variable(name) = operand.kind {
                    names.insert(name)
                }
            case let .ifStatement(_, then, otherwise):
                names.formUnion(assignedVariables(then))
                if let otherwise { names.formUnion(assignedVariables(otherwise)) }
            case let .forMap(variable, _, body), let .forRange(variable, _, _, body):
                names.insert(variable)
                names.formUnion(assignedVariables(body))
            case let .unroll(_, body), let .whileLoop(_, body), let .block(body):
                names.formUnion(assignedVariables(body))
            default:
                break
            }
        }
        return names
    }

    func problem(with statement: Statement, in probe: Probe, spec: ProbeSpec?, contract: ProbeContract?) -> String? {
        let expression: Expression
        switch statement.kind {
        case let .assume(e), let .assert(e, _): expression = e
        default: return "it is not an assume or assert statement"
        }
        let variables = Self.assignedVariables(probe.body)
        let knownMaps = maps
        var problem: String?
        expression.forEachNode { e in
            guard problem == nil else { return }
            switch e.kind {
            case let .variable(name) where !variables.contains(name):
                problem = "it references $\(name), which the probe never assigns"
            case let .map(name, _) where !knownMaps.contains(name):
                problem = "it references @\(name), which the program does not use"
            case let .fieldAccess(base, field, _):
                if case .builtin("args") = base.kind, let contract, spec?.access != .positional,
                   contract.argument(named: field) == nil {
                    let known = contract.arguments.map(\.name).filter { !$0.isEmpty }.joined(separator: ", ")
                    problem = "args.\(field) is not an argument of \(contract.name) (it has: \(known))"
                }
            case .builtin("retval"):
                if let spec, spec.access != .positionalReturn, spec.access != .namedArgsAndReturn {
                    problem = "retval does not exist in a \(spec.text) probe"
                }
            case let .call(name, arguments):
                let isBuiltinRead = arguments.isEmpty && BpftraceNames.callableBuiltinVariables.contains(name)
                if !isBuiltinRead, !Self.pureCalls.contains(name) {
                    problem = "it calls \(name)(), which has effects or is not a pure function"
                }
            case .incrementDecrement:
                problem = "it modifies a value (++/--)"
            case .error:
                problem = "it contains an expression that failed to parse"
            default:
                break
            }
        }
        return problem
    }
}
