/// Expressions: precedence climbing over C's binary operators, then unary, postfix and
/// primary expressions.
extension ParserCore {
    /// Builds a node, charging the expression node budget (see `Parser.maximumExpressionNodes`).
    mutating func node(_ kind: ExpressionKind, from start: Int) -> Expression {
        nodeBudget -= 1
        if nodeBudget == 0 {
            error("expression too complex (more than \(Parser.maximumExpressionNodes) nodes)", range: range(from: start),
                  hint: "split the expression using variables")
        }
        return Expression(kind, range: range(from: start))
    }

    mutating func errorNode(at start: Int) -> Expression {
        Expression(.error, range: makeRange(start, max(start, previousEnd)))
    }

    mutating func parseExpression() -> Expression {
        let start = token.start
        guard nodeBudget > 0, enterNesting() else {
            return errorNode(at: start)
        }
        defer { leaveNesting() }
        let condition = parseBinary(minPrecedence: 1)
        guard at(.question) else { return condition }
        advance()
        if at(.colon) {
            // `a ?: b` (0.26) means `a ? a : b` with `a` evaluated once; the tree spells it
            // out, which is exact when `a` has no side effects (the only case accepted).
            let colon = token
            advance()
            let otherwise = parseExpression()
            guard !hasSideEffects(condition) else {
                error("'?:' with an operand that has side effects is not supported", at: colon,
                      hint: "store the value in a variable first: $v = …; $v ? $v : …")
                return errorNode(at: start)
            }
            return node(.ternary(condition: condition, then: condition, else: otherwise), from: start)
        }
        let then = parseExpression()
        guard expect(.colon, "in ternary expression") else { return errorNode(at: start) }
        let otherwise = parseExpression()
        return node(.ternary(condition: condition, then: then, else: otherwise), from: start)
    }

    private func hasSideEffects(_ e: Expression) -> Bool {
        var found = false
        e.forEachNode { node in
            switch node.kind {
            case .call, .incrementDecrement: found = true
            default: break
            }
        }
        return found
    }

    private func binaryOperator(_ kind: TokenKind) -> BinaryOperator? {
        guard case let .punct(p) = kind else { return nil }
        switch p {
        case .orOr: return .logicalOr
        case .andAnd: return .logicalAnd
        case .pipe: return .bitOr
        case .caret: return .bitXor
        case .amp: return .bitAnd
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .less: return .less
        case .lessEqual: return .lessEqual
        case .greater: return .greater
        case .greaterEqual: return .greaterEqual
        case .shiftLeft: return .shiftLeft
        case .shiftRight: return .shiftRight
        case .plus: return .add
        case .minus: return .subtract
        case .star: return .multiply
        case .slash: return .divide
        case .percent: return .modulo
        default: return nil
        }
    }

    private mutating func parseBinary(minPrecedence: Int) -> Expression {
        let start = token.start
        var lhs = parseUnary()
        while nodeBudget > 0, let op = binaryOperator(token.kind), op.precedence >= minPrecedence {
            // Inside `/ … /`, a `/` followed by the probe body's `{` closes the predicate.
            if inPredicate && op == .divide {
                let next = peek()
                if next.kind == .punct(.lbrace) || next.kind == .endOfFile { break }
            }
            advance()
            let rhs = parseBinary(minPrecedence: op.precedence + 1)
            lhs = node(.binary(op, lhs, rhs), from: start)
        }
        return lhs
    }

    mutating func parseUnary() -> Expression {
        let start = token.start
        guard nodeBudget > 0 else { return errorNode(at: start) }
        let op: UnaryOperator?
        switch token.kind {
        case .punct(.minus): op = .negate
        case .punct(.bang): op = .logicalNot
        case .punct(.tilde): op = .bitNot
        case .punct(.star): op = .dereference
        case .punct(.amp): op = .addressOf
        case .punct(.plusPlus), .punct(.minusMinus):
            let incDec: IncrementDecrementOperator = at(.plusPlus) ? .increment : .decrement
            advance()
            guard enterNesting() else { return errorNode(at: start) }
            let operand = parseUnary()
            leaveNesting()
            return node(.incrementDecrement(incDec, prefix: true, operand), from: start)
        default: op = nil
        }
        if let op {
            advance()
            guard enterNesting() else { return errorNode(at: start) }
            let operand = parseUnary()
            leaveNesting()
            return node(.unary(op, operand), from: start)
        }
        return parsePostfix(parsePrimary(), start: start)
    }

    private mutating func parsePostfix(_ base: Expression, start: Int) -> Expression {
        var e = base
        while nodeBudget > 0 {
            if at(.dot) || at(.arrow) {
                // `1.5` (a literal directly followed by `.digits`) is a float; `(1).5` is not.
                if case .integer = e.kind, at(.dot), e.range.end.offset == token.start, peek().kind == .integer {
                    error("floating-point literals are not supported", range: makeRange(start, peek().end),
                          hint: "bpftrace only has integers; scale the value (e.g. use 15 and divide by 10)")
                    return errorNode(at: start)
                }
                let arrow = at(.arrow)
                advance()
                guard token.kind == .identifier || (!arrow && token.kind == .integer) else {
                    error("expected a field name after '\(arrow ? "->" : ".")', found \(describe(token))", at: token)
                    return errorNode(at: start)
                }
                let field = text(token)
                advance()
                e = node(.fieldAccess(e, field: field, arrow: arrow), from: start)
            } else if at(.lbracket) {
                advance()
                let index = parseExpression()
                guard expect(.rbracket, "to close the index") else { return errorNode(at: start) }
                e = node(.index(e, index), from: start)
            } else if at(.plusPlus) || at(.minusMinus) {
                let incDec: IncrementDecrementOperator = at(.plusPlus) ? .increment : .decrement
                advance()
                e = node(.incrementDecrement(incDec, prefix: false, e), from: start)
            } else {
                break
            }
        }
        return e
    }

    mutating func parsePrimary() -> Expression {
        let t = token
        let start = t.start
        switch t.kind {
        case .integer:
            advance()
            let literalText = text(t)
            var value: UInt64? = nil
            if case let .success(v, _) = IntegerLiteralParser.parse(source.bytes[t.start..<t.end]) { value = v }
            return node(.integer(IntegerLiteral(value: value, text: literalText)), from: start)
        case .string:
            advance()
            return node(.string(t.stringValue ?? ""), from: start)
        case .variable:
            advance()
            return node(.variable(String(text(t).dropFirst())), from: start)
        case .positional:
            advance()
            guard let n = Int(text(t).dropFirst()), n <= 1_000_000 else {
                error("positional parameter number too large", at: t)
                return errorNode(at: start)
            }
            return node(.positional(n), from: start)
        case .positionalCount:
            advance()
            return node(.positionalCount, from: start)
        case .map:
            advance()
            let name = String(text(t).dropFirst())
            var keys: [Expression] = []
            if at(.lbracket) {
                advance()
                if at(.rbracket) {
                    error("map key list is empty", at: token, hint: "write @\(name)[key] or just @\(name)")
                    return errorNode(at: start)
                }
                keys = parseList(until: .rbracket, context: "to close the map key")
            }
            return node(.map(name: name, keys: keys), from: start)
        case .identifier:
            return parseIdentifierExpression()
        case .punct(.lparen):
            return parseParenthesized()
        case .invalid:
            // Already reported by the lexer; just suppress the cascade.
            advance()
            panicking = true
            return errorNode(at: start)
        default:
            error("expected an expression, found \(describe(t))", at: t)
            return errorNode(at: start)
        }
    }

    /// Comma-separated expressions up to the closing punctuator (consumed).
    private mutating func parseList(until close: Punct, context: String) -> [Expression] {
        var items: [Expression] = []
        repeat {
            items.append(parseExpression())
            if panicking { break }
        } while accept(.comma) && nodeBudget > 0
        expect(close, context)
        return items
    }

    private mutating func parseIdentifierExpression() -> Expression {
        let t = token
        let start = t.start
        let name = text(t)
        advance()
        if at(.lparen) {
            switch name {
            case "sizeof": return parseSizeof(start: start)
            case "offsetof": return parseOffsetof(start: start)
            default: break
            }
            advance()
            var arguments: [Expression] = []
            if !accept(.rparen) {
                arguments = parseList(until: .rparen, context: "to close the call to \(name)()")
            }
            return node(.call(name: name, arguments: arguments), from: start)
        }
        switch name {
        case "true": return node(.boolean(true), from: start)
        case "false": return node(.boolean(false), from: start)
        case "struct", "union", "enum":
            error("unexpected '\(name)' in an expression", at: t,
                  hint: "casts are written '(\(name) name *)expr'")
            return errorNode(at: start)
        default:
            if BpftraceNames.isBuiltinVariable(name) {
                return node(.builtin(name), from: start)
            }
            return node(.identifier(name), from: start)
        }
    }

    private mutating func parseSizeof(start: Int) -> Expression {
        advance() // '('
        let operand: TypeOrExpression
        if startsType(token, followedBy: peek()) {
            guard let type = parseTypeName() else { return errorNode(at: start) }
            operand = .type(type)
        } else {
            operand = .expression(parseExpression())
        }
        guard expect(.rparen, "to close sizeof(") else { return errorNode(at: start) }
        return node(.sizeof(operand), from: start)
    }

    private mutating func parseOffsetof(start: Int) -> Expression {
        advance() // '('
        let operand: TypeOrExpression
        if startsType(token, followedBy: peek()) {
            guard let type = parseTypeName() else { return errorNode(at: start) }
            operand = .type(type)
        } else {
            operand = .expression(parseExpression())
        }
        guard expect(.comma, "between the offsetof() operands") else { return errorNode(at: start) }
        var fields: [String] = []
        repeat {
            guard token.kind == .identifier else {
                error("expected a field name in offsetof(), found \(describe(token))", at: token)
                return errorNode(at: start)
            }
            fields.append(text(token))
            advance()
        } while accept(.dot)
        guard expect(.rparen, "to close offsetof(") else { return errorNode(at: start) }
        return node(.offsetof(operand, field: fields), from: start)
    }

    /// Whether `t` starts a type name (for sizeof/offsetof operands).
    private func startsType(_ t: Token, followedBy next: Token) -> Bool {
        guard t.kind == .identifier else { return false }
        let name = text(t)
        if name == "struct" || name == "union" || name == "enum" { return true }
        if BpftraceNames.scalarTypeNames.contains(name) {
            return next.kind == .punct(.rparen) || next.kind == .punct(.star) || next.kind == .punct(.comma)
                || next.kind == .punct(.lbracket)
        }
        return false
    }

    /// Whether the `(` at the current token opens a cast: `(struct x *)`, `(u16)`,
    /// `(uint8[4])`, or `(typedef_name *)`.
    private func looksLikeCast() -> Bool {
        var l = lexer
        let first = l.next()
        guard first.kind == .identifier else { return false }
        let name = text(first)
        if name == "struct" || name == "union" || name == "enum" { return true }
        var t = l.next()
        if BpftraceNames.scalarTypeNames.contains(name) {
            return t.kind == .punct(.rparen) || t.kind == .punct(.star) || t.kind == .punct(.lbracket)
        }
        guard t.kind == .punct(.star) else { return false }
        while t.kind == .punct(.star) { t = l.next() }
        return t.kind == .punct(.rparen)
    }

    /// `struct name`, `union name`, `enum name` or a plain type name, followed by
    /// pointer stars and/or one array count.
    mutating func parseTypeName() -> TypeName? {
        guard token.kind == .identifier else {
            error("expected a type name, found \(describe(token))", at: token)
            return nil
        }
        var base = text(token)
        advance()
        if base == "struct" || base == "union" || base == "enum" {
            guard token.kind == .identifier else {
                error("expected a name after '\(base)', found \(describe(token))", at: token)
                return nil
            }
            base += " " + text(token)
            advance()
        }
        var type = TypeName(base: base)
        while true {
            if accept(.star) {
                type.pointerDepth += 1
            } else if at(.lbracket) && type.arrayCount == nil && type.pointerDepth == 0 {
                advance()
                guard token.kind == .integer,
                      case let .success(v, nil) = IntegerLiteralParser.parse(source.bytes[token.start..<token.end]),
                      v <= 1 << 20 else {
                    error("expected an array size, found \(describe(token))", at: token)
                    return nil
                }
                type.arrayCount = Int(v)
                advance()
                guard expect(.rbracket, "to close the array size") else { return nil }
            } else {
                break
            }
        }
        return type
    }

    private mutating func parseParenthesized() -> Expression {
        let start = token.start
        if looksLikeCast() {
            advance() // '('
            guard let type = parseTypeName() else { return errorNode(at: start) }
            guard expect(.rparen, "to close the cast") else { return errorNode(at: start) }
            guard enterNesting() else { return errorNode(at: start) }
            let operand = parseUnary()
            leaveNesting()
            return node(.cast(type, operand), from: start)
        }
        advance() // '('
        if at(.rparen) {
            error("expected an expression inside '()'", at: token)
            return errorNode(at: start)
        }
        let first = parseExpression()
        if at(.comma) {
            var elements = [first]
            while accept(.comma) && nodeBudget > 0 {
                if at(.rparen) {
                    error("expected an expression after ',' in the tuple, found ')'", at: token,
                          hint: elements.count == 1 ? "bpftrace has no one-element tuples; use the value itself" : "remove the trailing ','")
                    return errorNode(at: start)
                }
                elements.append(parseExpression())
                if panicking { break }
            }
            guard expect(.rparen, "to close the tuple") else { return errorNode(at: start) }
            return node(.tuple(elements), from: start)
        }
        guard expect(.rparen, "to match '('") else { return errorNode(at: start) }
        return first
    }
}
