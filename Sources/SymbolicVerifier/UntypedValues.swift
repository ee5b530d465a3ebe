import BpftraceSyntax

/// Values whose width and signedness the verifier does not know: fields (and `*p` reads) the
/// resolver left untyped — without kernel types, `args->x` could be a u8 or an s32 — and the
/// variables and maps that may hold them.
///
/// Such a value is read as its 64-bit widening, which is exact for `==`, `!=`, arithmetic,
/// `/`, `%`, `>>` and explicit casts; it is not for ordering comparisons (signed or not),
/// unary `-`/`~` and `bswap` (they keep the operand's width), or reassigning a variable that
/// holds one (the variable keeps the field's width). There the path is UNKNOWN with a reason
/// (`ProbeRun.requireKnownType`). The analysis is static and program-wide, hence conservative.
struct UntypedValues {
    /// Variable or map name → the untyped field it may hold, for the reason text.
    private(set) var variables: [String: String] = [:]
    private(set) var maps: [String: String] = [:]
    /// False when untyped fields are read as uint64 everywhere (`VerificationOptions.untypedFields`).
    let enabled: Bool

    init(program: Program, enabled: Bool) {
        self.enabled = enabled
        guard enabled else { return }
        final class Flows {
            var variables: [(String, Expression)] = []
            var maps: [(String, Expression)] = []
        }
        let flows = Flows()
        let walk = TreeTransform(statement: { statement in
            switch statement.kind {
            case let .assignment(target, _, value):
                var source = value
                if case let .call(function, arguments) = value.kind, ProbeRun.aggregates.contains(function) {
                    // count() is an unsigned count; sum/min/max/avg take their argument's type.
                    guard function != "count", let argument = arguments.first else { return [statement] }
                    source = argument
                }
                switch target.kind {
                case let .variable(name): flows.variables.append((name, source))
                case let .map(name, _): flows.maps.append((name, source))
                default: break
                }
            case let .letDeclaration(name, nil, value?):
                flows.variables.append((name, value))
            default:
                break
            }
            return [statement]
        })
        _ = walk.apply(program)
        var changed = true
        while changed {
            changed = false
            for (name, value) in flows.variables where variables[name] == nil {
                if let origin = origin(of: value) { variables[name] = origin; changed = true }
            }
            for (name, value) in flows.maps where maps[name] == nil {
                if let origin = origin(of: value) { maps[name] = origin; changed = true }
            }
        }
    }

    /// The untyped field `expression`'s value may come from without a cast fixing its type.
    func origin(of expression: Expression) -> String? {
        guard enabled else { return nil }
        switch expression.kind {
        case let .fieldAccess(_, field, _):
            // A tuple element (`$t.0`) has the element's known type.
            guard expression.type == nil, !field.allSatisfy(\.isNumber) else { return nil }
            return ExpressionText.render(expression)
        case .unary(.dereference, _):
            return expression.type == nil ? ExpressionText.render(expression) : nil
        case let .unary(.negate, operand), let .unary(.bitNot, operand), let .unary(.plus, operand),
             let .incrementDecrement(_, _, operand):
            return origin(of: operand)
        case let .variable(name):
            return variables[name]
        case let .map(name, _):
            return maps[name]
        case let .binary(op, lhs, rhs):
            switch op {
            case .add, .subtract, .multiply, .divide, .modulo, .bitAnd, .bitOr, .bitXor, .shiftLeft, .shiftRight:
                return origin(of: lhs) ?? origin(of: rhs)
            default:
                return nil
            }
        case let .ternary(_, then, otherwise):
            return origin(of: then) ?? origin(of: otherwise)
        default:
            return nil
        }
    }
}
