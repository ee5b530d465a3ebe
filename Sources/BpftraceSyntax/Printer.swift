/// Prints trees as canonical bpftrace source. Parsing the output gives back an equal tree
/// (ignoring source ranges): parentheses are inserted exactly where precedence needs them,
/// integer literals keep their spelling, strings are re-escaped.
public enum Printer {
    /// Canonical text of `program`, exactly as the tree says (no dialect rewriting).
    public static func print(_ program: Program) -> String {
        var w = SourceWriter()
        w.program(program)
        return w.out
    }

    /// Lowers `program` to `dialect` (see `Lowering`) and prints it. `diagnostics` lists
    /// constructs the target cannot express; the text is then best effort and should not be
    /// loaded.
    public static func print(_ program: Program, dialect: BpftraceDialect) -> PrintResult {
        let lowered = Lowering.lower(program, to: dialect)
        return PrintResult(text: print(lowered.program), diagnostics: lowered.diagnostics)
    }

    public static func print(_ expression: Expression) -> String {
        var w = SourceWriter()
        w.expression(expression, minimumPrecedence: 0)
        return w.out
    }

    public static func print(_ statement: Statement) -> String {
        var w = SourceWriter()
        w.statement(statement)
        var text = w.out
        if text.last == "\n" { text.removeLast() }
        return text
    }

    public static func print(_ attachPoint: AttachPoint) -> String { attachPoint.text }

    /// A string literal with quotes and escapes, as bpftrace reads it back.
    public static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0x20..<0x7F, 0x80...:
                // Printable ASCII and non-ASCII text (valid UTF-8 in the tree) copy through.
                out.unicodeScalars.append(scalar)
            default:
                let octal = String(scalar.value, radix: 8)
                out += "\\" + String(repeating: "0", count: max(0, 3 - octal.count)) + octal
            }
        }
        return out + "\""
    }
}

/// Text plus the diagnostics of lowering it to a dialect.
public struct PrintResult: Sendable, Hashable {
    public var text: String
    public var diagnostics: [Diagnostic]

    public init(text: String, diagnostics: [Diagnostic]) {
        self.text = text
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

struct SourceWriter {
    var out = ""
    var indent = 0
    static let indentUnit = "    "

    mutating func line(_ text: String) {
        for _ in 0..<indent { out += Self.indentUnit }
        out += text
        out += "\n"
    }

    mutating func program(_ p: Program) {
        if let shebang = p.shebang { out += shebang + "\n" }
        for item in p.preamble { out += item.text + "\n" }
        if !p.preamble.isEmpty || p.shebang != nil { out += "\n" }
        if let config = p.config {
            out += "config = {\n"
            for entry in config.entries {
                out += Self.indentUnit + entry.key + " = " + Printer.print(entry.value) + ";\n"
            }
            out += "}\n\n"
        }
        for declaration in p.mapDeclarations {
            out += "let @" + declaration.name + " = " + declaration.mapType + "(" + declaration.maxEntries.text + ");\n"
        }
        if !p.mapDeclarations.isEmpty { out += "\n" }
        for (i, probe) in p.probes.enumerated() {
            if i > 0 { out += "\n" }
            self.probe(probe)
        }
    }

    mutating func probe(_ probe: Probe) {
        out += probe.attachPoints.map(\.text).joined(separator: ",\n") + "\n"
        if let predicate = probe.predicate {
            let text = self.text(predicate)
            // `/*p/` would open a comment.
            out += (text.hasPrefix("*") || text.hasPrefix("/") ? "/ " : "/") + text + "/\n"
        }
        out += "{\n"
        indent += 1
        block(probe.body)
        indent -= 1
        out += "}\n"
    }

    mutating func block(_ b: Block) {
        for s in b.statements { statement(s) }
    }

    private func text(_ e: Expression, _ minimumPrecedence: Int = 0) -> String {
        var w = SourceWriter()
        w.expression(e, minimumPrecedence: minimumPrecedence)
        return w.out
    }

    mutating func braced(_ header: String, _ body: Block, trailer: String = "}") {
        line(header.isEmpty ? "{" : header + " {")
        indent += 1
        block(body)
        indent -= 1
        line(trailer)
    }

    mutating func statement(_ s: Statement) {
        switch s.kind {
        case let .expression(e):
            line(text(e) + ";")
        case let .assignment(target, op, value):
            line(text(target) + " " + op.rawValue + " " + text(value) + ";")
        case let .letDeclaration(name, type, value):
            var t = "let $" + name
            if let type { t += ": " + type.description }
            if let value { t += " = " + text(value) }
            line(t + ";")
        case .ifStatement:
            ifChain(s.kind, prefix: "")
        case let .unroll(count, body):
            braced("unroll (" + text(count) + ")", body)
        case let .whileLoop(condition, body):
            braced("while (" + text(condition) + ")", body)
        case let .forMap(variable, map, body):
            braced("for ($" + variable + " : " + text(map) + ")", body)
        case let .forRange(variable, start, end, body):
            braced("for ($" + variable + " : " + text(start, 11) + ".." + text(end, 11) + ")", body)
        case .breakStatement:
            line("break;")
        case .continueStatement:
            line("continue;")
        case let .returnStatement(value):
            line(value.map { "return " + text($0) + ";" } ?? "return;")
        case let .block(b):
            braced("", b)
        case let .assume(e):
            line("assume(" + text(e) + ");")
        case let .assert(e, message):
            line("assert(" + text(e) + (message.map { ", " + Printer.quote($0) } ?? "") + ");")
        }
    }

    private mutating func ifChain(_ kind: StatementKind, prefix: String) {
        guard case let .ifStatement(condition, then, elseBlock) = kind else { return }
        line(prefix + "if (" + text(condition) + ") {")
        indent += 1
        block(then)
        indent -= 1
        guard let elseBlock else {
            line("}")
            return
        }
        if elseBlock.statements.count == 1, case .ifStatement = elseBlock.statements[0].kind {
            ifChain(elseBlock.statements[0].kind, prefix: "} else ")
        } else {
            line("} else {")
            indent += 1
            block(elseBlock)
            indent -= 1
            line("}")
        }
    }

    // MARK: Expressions

    static func precedence(_ e: Expression) -> Int {
        switch e.kind {
        case .ternary: return 0
        case let .binary(op, _, _): return op.precedence
        case .unary, .cast: return 11
        case let .incrementDecrement(_, prefix, _): return prefix ? 11 : 12
        case .fieldAccess, .index: return 12
        default: return 13
        }
    }

    mutating func expression(_ e: Expression, minimumPrecedence: Int) {
        let p = Self.precedence(e)
        let parenthesize = p < minimumPrecedence
        if parenthesize { out += "(" }
        switch e.kind {
        case let .integer(literal):
            out += literal.text
        case let .string(s):
            out += Printer.quote(s)
        case let .boolean(b):
            out += b ? "true" : "false"
        case let .variable(name):
            out += "$" + name
        case let .map(name, keys):
            out += "@" + name
            if !keys.isEmpty {
                out += "["
                list(keys)
                out += "]"
            }
        case let .positional(n):
            out += "$" + String(n)
        case .positionalCount:
            out += "$#"
        case let .builtin(name), let .identifier(name):
            out += name
        case let .call(name, arguments):
            out += name + "("
            list(arguments)
            out += ")"
        case let .unary(op, operand):
            out += op.rawValue
            let operandText = text(operand, 11)
            if let first = operandText.utf8.first, op.rawValue.utf8.last == first,
               first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: "&") {
                out += " "
            }
            out += operandText
        case let .incrementDecrement(op, prefix, operand):
            if prefix {
                out += op.rawValue
                expression(operand, minimumPrecedence: 11)
            } else {
                expression(operand, minimumPrecedence: 12)
                out += op.rawValue
            }
        case let .binary(op, lhs, rhs):
            expression(lhs, minimumPrecedence: op.precedence)
            out += " " + op.rawValue + " "
            expression(rhs, minimumPrecedence: op.precedence + 1)
        case let .ternary(condition, then, otherwise):
            expression(condition, minimumPrecedence: 1)
            out += " ? "
            expression(then, minimumPrecedence: 0)
            out += " : "
            expression(otherwise, minimumPrecedence: 0)
        case let .cast(type, operand):
            out += "(" + type.description + ")"
            expression(operand, minimumPrecedence: 11)
        case let .fieldAccess(base, field, arrow):
            if case .integer = base.kind {
                // `1.0` would read as a float literal.
                out += "("
                expression(base, minimumPrecedence: 0)
                out += ")"
            } else {
                expression(base, minimumPrecedence: 12)
            }
            out += (arrow ? "->" : ".") + field
        case let .index(base, index):
            // `@m[k]` is a map lookup; indexing the value of a key-less map needs `(@m)[k]`.
            if case .map(_, keys: let keys) = base.kind, keys.isEmpty {
                out += "("
                expression(base, minimumPrecedence: 0)
                out += ")"
            } else {
                expression(base, minimumPrecedence: 12)
            }
            out += "["
            expression(index, minimumPrecedence: 0)
            out += "]"
        case let .tuple(elements):
            out += "("
            list(elements)
            if elements.count == 1 { out += "," }
            out += ")"
        case let .sizeof(operand):
            out += "sizeof("
            typeOrExpression(operand)
            out += ")"
        case let .offsetof(operand, field):
            out += "offsetof("
            typeOrExpression(operand)
            out += ", " + field.joined(separator: ".") + ")"
        case .error:
            out += "<error>"
        }
        if parenthesize { out += ")" }
    }

    private mutating func typeOrExpression(_ operand: TypeOrExpression) {
        switch operand {
        case let .type(t): out += t.description
        case let .expression(e): expression(e, minimumPrecedence: 0)
        }
    }

    private mutating func list(_ items: [Expression]) {
        for (i, item) in items.enumerated() {
            if i > 0 { out += ", " }
            expression(item, minimumPrecedence: 0)
        }
    }
}
