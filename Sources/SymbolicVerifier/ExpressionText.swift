import BpftraceSyntax

/// Renders expressions back to bpftrace text for messages (assert lines, branch conditions,
/// model names). Kept here rather than borrowed from a printer so the verifier's messages do not
/// change when the program printer's layout does.
enum ExpressionText {
    static func render(_ expression: Expression) -> String {
        render(expression, parentPrecedence: 0)
    }

    private static func render(_ expression: Expression, parentPrecedence: Int) -> String {
        switch expression.kind {
        case let .integer(literal):
            return literal.text
        case let .string(value):
            return "\"" + escape(value) + "\""
        case let .boolean(value):
            return value ? "true" : "false"
        case let .variable(name):
            return "$" + name
        case let .map(name, keys):
            if keys.isEmpty { return "@" + name }
            return "@" + name + "[" + keys.map(render).joined(separator: ", ") + "]"
        case let .positional(index):
            return "$\(index)"
        case .positionalCount:
            return "$#"
        case let .builtin(name), let .identifier(name):
            return name
        case let .call(name, arguments):
            return name + "(" + arguments.map(render).joined(separator: ", ") + ")"
        case let .unary(op, operand):
            return op.rawValue + render(operand, parentPrecedence: 11)
        case let .incrementDecrement(op, prefix, operand):
            return prefix ? op.rawValue + render(operand, parentPrecedence: 11)
                          : render(operand, parentPrecedence: 11) + op.rawValue
        case let .binary(op, lhs, rhs):
            let text = render(lhs, parentPrecedence: op.precedence) + " " + op.rawValue + " "
                + render(rhs, parentPrecedence: op.precedence + 1)
            return op.precedence < parentPrecedence ? "(" + text + ")" : text
        case let .ternary(condition, then, otherwise):
            let text = render(condition, parentPrecedence: 1) + " ? " + render(then) + " : " + render(otherwise)
            return parentPrecedence > 0 ? "(" + text + ")" : text
        case let .cast(type, operand):
            return "(" + type.description + ")" + render(operand, parentPrecedence: 11)
        case let .fieldAccess(base, field, arrow):
            return render(base, parentPrecedence: 12) + (arrow ? "->" : ".") + field
        case let .index(base, index):
            return render(base, parentPrecedence: 12) + "[" + render(index) + "]"
        case let .tuple(elements):
            return "(" + elements.map(render).joined(separator: ", ") + ")"
        case let .sizeof(operand):
            return "sizeof(" + render(operand) + ")"
        case let .offsetof(operand, field):
            return "offsetof(" + render(operand) + ", " + field.joined(separator: ".") + ")"
        case .error:
            return "<error>"
        }
    }

    private static func render(_ operand: TypeOrExpression) -> String {
        switch operand {
        case let .type(type): return type.description
        case let .expression(expression): return render(expression)
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
