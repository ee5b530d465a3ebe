import BpftraceSyntax

/// Fills an example's parameters with the request's values, in the syntax tree: the literal
/// compared with `comm` becomes the requested process name, a path literal the requested path
/// (and a prefix's `strncmp` length follows it), a signal, a port, a bound, an interval. Only
/// literals in those positions change; a format string keeps its layout and only a whole-word
/// mention of the old value is renamed, so the printed text names what the program now does.
public enum ParameterFiller {
    public enum FillError: Error, Equatable, CustomStringConvertible {
        case unparsable
        /// The parameter's literal was not found where the task model said it was.
        case notFound(ParameterSubstitution)
        case badValue(ParameterSubstitution)

        public var description: String {
            switch self {
            case .unparsable: return "the example does not parse"
            case .notFound(let s): return "no \(s.kind.rawValue) literal \(s.from) to replace"
            case .badValue(let s): return "\(s.to) is not a valid \(s.kind.rawValue)"
            }
        }
    }

    /// The program with `substitutions` and the new interval applied, printed canonically.
    public static func fill(_ program: String, substitutions: [ParameterSubstitution],
                            interval: UInt64? = nil) throws(FillError) -> String {
        guard !substitutions.isEmpty || interval != nil else { return program }
        guard var tree = Parser.parse(source: program, file: "example.bt").program else { throw .unparsable }
        for substitution in substitutions {
            var replaced = false
            let rewrite = try rewriter(for: substitution)
            let transform = TreeTransform(expression: { expression in
                guard let updated = rewrite(expression) else { return expression }
                replaced = true
                return updated
            })
            tree = transform.apply(tree)
            guard replaced else { throw .notFound(substitution) }
            tree = renamedInFormats(tree, from: substitution.from, to: substitution.to)
        }
        if let interval {
            tree.probes = tree.probes.map { probe in
                var copy = probe
                copy.attachPoints = probe.attachPoints.map { point in
                    guard point.kind == .interval, point.target.count == 2 else { return point }
                    var updated = point
                    updated.target = ["s", String(interval)]
                    return updated
                }
                return copy
            }
        }
        return Printer.print(tree)
    }

    /// A function that returns the rewritten node when `expression` is where the parameter
    /// sits, nil otherwise.
    static func rewriter(for substitution: ParameterSubstitution) throws(FillError) -> (Expression) -> Expression? {
        let (from, to) = (substitution.from, substitution.to)
        switch substitution.kind {
        case .process, .path:
            return { expression in
                guard case .binary(let op, let left, let right) = expression.kind, op == .equal || op == .notEqual else { return nil }
                func swap(_ side: Expression) -> Expression? {
                    guard case .string(let text) = side.kind, text == from else { return nil }
                    var copy = side
                    copy.kind = .string(to)
                    return copy
                }
                if let updated = swap(right) { var e = expression; e.kind = .binary(op, left, updated); return e }
                if let updated = swap(left) { var e = expression; e.kind = .binary(op, updated, right); return e }
                return nil
            }
        case .pathPrefix:
            return { expression in
                guard case .call("strncmp", let arguments) = expression.kind, arguments.count == 3,
                      case .string(let text) = arguments[1].kind, text == from else { return nil }
                var updated = arguments
                updated[1].kind = .string(to)
                updated[2].kind = .integer(IntegerLiteral(UInt64(to.utf8.count)))
                var e = expression
                e.kind = .call(name: "strncmp", arguments: updated)
                return e
            }
        case .signal:
            guard let number = SignalNames.number(of: to) else { throw .badValue(substitution) }
            return { expression in
                if case .call("signal", var arguments) = expression.kind, let first = arguments.first {
                    switch first.kind {
                    case .string(let text) where (SignalNames.canonical(text) ?? text) == from:
                        arguments[0].kind = .string(to)
                    case .integer(let value) where SignalNames.name(ofNumber: Int(value.value ?? 0)) == from:
                        arguments[0].kind = .integer(IntegerLiteral(UInt64(number)))
                    default: return nil
                    }
                    var e = expression
                    e.kind = .call(name: "signal", arguments: arguments)
                    return e
                }
                guard case .binary(.equal, let left, let right) = expression.kind,
                      case .integer(let value) = right.kind, SignalNames.name(ofNumber: Int(value.value ?? 0)) == from,
                      case .fieldAccess(_, let field, _) = left.kind, field == "sig" else { return nil }
                var e = expression
                e.kind = .binary(.equal, left, Expression(.integer(IntegerLiteral(UInt64(number))), range: right.range))
                return e
            }
        case .pid, .uid, .port, .threshold:
            guard let value = UInt64(to) else { throw .badValue(substitution) }
            return { expression in
                guard case .binary(let op, let left, let right) = expression.kind,
                      [.equal, .greater, .greaterEqual].contains(op),
                      case .integer(let literal) = right.kind, literal.value.map(String.init) == from else { return nil }
                var e = expression
                e.kind = .binary(op, left, Expression(.integer(IntegerLiteral(value)), range: right.range))
                return e
            }
        case .failure, .flags, .literalOutput:
            throw .badValue(substitution)
        }
    }

    /// Renames whole-word mentions of `from` in format strings (`"killed xmrig pid %d"`).
    static func renamedInFormats(_ tree: Program, from: String, to: String) -> Program {
        TreeTransform(expression: { expression in
            guard case .call(let name, var arguments) = expression.kind, ["printf", "system"].contains(name),
                  let first = arguments.first, case .string(let format) = first.kind else { return expression }
            let renamed = replacingWholeWord(from, with: to, in: format)
            guard renamed != format else { return expression }
            arguments[0].kind = .string(renamed)
            var e = expression
            e.kind = .call(name: name, arguments: arguments)
            return e
        }).apply(tree)
    }

    static func replacingWholeWord(_ word: String, with replacement: String, in text: String) -> String {
        guard !word.isEmpty else { return text }
        var result = ""
        var rest = Substring(text)
        func isWordCharacter(_ c: Character?) -> Bool {
            guard let c else { return false }
            return c.isLetter || c.isNumber || c == "_" || c == "-"
        }
        while let range = rest.range(of: word) {
            let before = range.lowerBound == rest.startIndex ? result.last : rest[rest.index(before: range.lowerBound)]
            let after = range.upperBound == rest.endIndex ? nil : rest[range.upperBound]
            result += rest[..<range.lowerBound]
            result += isWordCharacter(before) || isWordCharacter(after) ? word : replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
