/// Blocks and statements.
extension ParserCore {
    /// Parses `{ … }` with the current token at `{`. For a probe body (`topLevel`), the
    /// lexer is left just after `}` without lexing further, because what follows is
    /// top-level text (attach points, preamble) that the expression lexer must not see.
    mutating func parseBlock(topLevel: Bool = false) -> Block {
        let start = token.start
        guard enterNesting() else {
            skipBalancedBlock(topLevel: topLevel)
            return Block([], range: range(from: start))
        }
        defer { leaveNesting() }
        advance() // '{'
        var statements: [Statement] = []
        while !abandoned {
            if at(.rbrace) { break }
            if token.kind == .endOfFile {
                let open = source.location(start)
                error("expected '}' to close the block opened at line \(open.line), column \(open.column)", at: token)
                return Block(statements, range: range(from: start))
            }
            if at(.semicolon) { advance(); continue }
            if unwindingToProbeHeader || looksLikeProbeHeader() {
                // A forgotten '}': the next probe starts here. Close every open block (one
                // diagnostic) and let the top level parse the probe.
                if !unwindingToProbeHeader {
                    let open = source.location(start)
                    panicking = false
                    error("missing '}' before the next probe", at: token,
                          hint: "close the block opened at line \(open.line), column \(open.column) with '}'")
                    unwindingToProbeHeader = true
                }
                if topLevel {
                    unwindingToProbeHeader = false
                    lexer.pos = token.start
                }
                return Block(statements, range: range(from: start))
            }
            let before = token.start
            if let s = parseStatement() {
                statements.append(s)
            }
            // Guarantee progress whatever the recovery did, so no input can loop forever.
            if token.start == before && token.kind != .endOfFile && !at(.rbrace) && !unwindingToProbeHeader {
                advance()
            }
        }
        let end = token.end
        if topLevel {
            previousEnd = end
            lexer.pos = end
        } else {
            advance()
        }
        return Block(statements, range: makeRange(start, end))
    }

    /// `provider:` (any known probe kind, long or short) or `BEGIN`/`END` followed by `{`,
    /// `/` or `,` at the start of a statement: no statement looks like that, a probe header
    /// does.
    private func looksLikeProbeHeader() -> Bool {
        guard token.kind == .identifier else { return false }
        let word = text(token)
        guard let kind = ProbeKind.from(provider: word) ?? ProbeKind.from(provider: word.lowercased()) else { return false }
        // The header must start its line: `i: …` mid-line is just a broken statement.
        guard token.start == 0 || isLineStart(token.start) else { return false }
        let next = peek()
        if kind.takesTarget {
            return next.kind == .punct(.colon) && next.start == token.end
        }
        return next.kind == .punct(.lbrace) || next.kind == .punct(.slash) || next.kind == .punct(.comma)
    }

    private func isLineStart(_ offset: Int) -> Bool {
        var i = offset - 1
        while i >= 0 {
            let b = source.bytes[i]
            if b == 0x0A { return true }
            if b != 0x20 && b != 0x09 && b != 0x0D { return false }
            i -= 1
        }
        return true
    }

    /// Skips a balanced `{ … }` starting at the current `{` (used when nesting is too deep).
    private mutating func skipBalancedBlock(topLevel: Bool) {
        var level = 0
        repeat {
            if at(.lbrace) { level += 1 }
            if at(.rbrace) { level -= 1 }
            if level == 0 || token.kind == .endOfFile { break }
            advance()
        } while true
        if topLevel {
            lexer.pos = token.end
        } else if token.kind != .endOfFile {
            advance()
        }
    }

    /// Skips to the end of the broken statement: past a `;`, or up to (not past) the `}` that
    /// closes the enclosing block. Nested blocks are skipped whole.
    mutating func synchronize() {
        var level = 0
        while token.kind != .endOfFile {
            if at(.lbrace) { level += 1 }
            if at(.rbrace) {
                if level == 0 { break }
                level -= 1
                if level == 0 {
                    advance()
                    break
                }
            }
            if at(.semicolon) && level == 0 {
                advance()
                break
            }
            advance()
        }
        panicking = false
    }

    /// Recovery for a broken `if`/`for`/`while`/`unroll` header: skip the rest of the header
    /// (whose `;`s, as in a C-style `for (;;)`, do not end the statement) and its body block.
    mutating func synchronizeCompound() {
        var parens = 0
        while token.kind != .endOfFile {
            if at(.lparen) { parens += 1 }
            if at(.rparen) { parens -= 1 }
            if at(.rbrace) { break }
            if at(.semicolon) && parens <= 0 {
                advance()
                break
            }
            if at(.lbrace) {
                var level = 0
                repeat {
                    if at(.lbrace) { level += 1 }
                    if at(.rbrace) { level -= 1 }
                    advance()
                } while level > 0 && token.kind != .endOfFile
                break
            }
            advance()
        }
        panicking = false
    }

    mutating func parseStatement() -> Statement? {
        nodeBudget = Parser.maximumExpressionNodes
        panicking = false
        let start = token.start
        let compound = isWord("if") || isWord("for") || isWord("while") || isWord("unroll")
        guard let kind = parseStatementKind(start: start) else {
            if compound {
                // Re-scan from the keyword so parentheses of the header are counted.
                rewind(to: start)
                synchronizeCompound()
            } else {
                synchronize()
            }
            return nil
        }
        let statement = Statement(kind, range: range(from: start))
        if unwindingToProbeHeader { return statement }
        if panicking {
            synchronize()
            return statement
        }
        if isCompound(kind) { return statement }
        if at(.rbrace) { return statement }
        if !accept(.semicolon) {
            error("expected ';' after statement, found \(describe(token))", range: makeRange(previousEnd, previousEnd),
                  hint: "statements are separated by ';'")
            // A statement that simply lacks its ';' at the end of a line: carry on with the
            // next line instead of skipping it, so its own errors are reported too.
            if source.location(token.start).line > source.location(previousEnd).line {
                panicking = false
            } else {
                synchronize()
            }
        }
        return statement
    }

    private func isCompound(_ kind: StatementKind) -> Bool {
        switch kind {
        case .ifStatement, .unroll, .whileLoop, .forMap, .forRange, .block: return true
        default: return false
        }
    }

    private mutating func parseStatementKind(start: Int) -> StatementKind? {
        if at(.lbrace) {
            return .block(parseBlock())
        }
        if token.kind == .identifier {
            switch text(token) {
            case "if": return parseIf()
            case "unroll":
                advance()
                let count = parseExpression()
                guard let body = parseBody("unroll") else { return nil }
                return .unroll(count: count, body: body)
            case "while":
                advance()
                let condition = parseExpression()
                guard let body = parseBody("while") else { return nil }
                return .whileLoop(condition: condition, body: body)
            case "for": return parseFor()
            case "break": advance(); return .breakStatement
            case "continue": advance(); return .continueStatement
            case "return":
                advance()
                if at(.semicolon) || at(.rbrace) { return .returnStatement(nil) }
                // Only subprograms (`fn`, unsupported here) return values; a probe just ends.
                error("'return' in a probe takes no value", at: token, hint: "write 'return;'")
                return nil
            case "let": return parseLet()
            case let word where looksLikeCDeclaration(word):
                error("C-style variable declarations are not supported", at: token,
                      hint: "use a scratch variable, e.g. '$t = (struct task_struct *)curtask;' or 'let $n: u32 = 0;'")
                return nil
            case "assume" where peek().kind == .punct(.lparen):
                advance()
                advance()
                let e = parseExpression()
                expect(.rparen, "to close assume(")
                return .assume(e)
            case "assert" where peek().kind == .punct(.lparen):
                advance()
                advance()
                let e = parseExpression()
                var message: String? = nil
                if accept(.comma) {
                    if token.kind == .string {
                        message = token.stringValue
                        advance()
                    } else {
                        error("expected a string message as the second argument of assert, found \(describe(token))", at: token)
                        return nil
                    }
                }
                expect(.rparen, "to close assert(")
                return .assert(e, message: message)
            default:
                break
            }
        }
        let target = parseExpression()
        if let op = assignmentOperator(token.kind) {
            if !isAssignable(target) {
                if case let .identifier(name) = target.kind {
                    error("'\(name)' is not a variable", range: target.range,
                          hint: "scratch variables start with '$' ($\(name)) and maps with '@' (@\(name))")
                } else if case let .builtin(name) = target.kind {
                    error("cannot assign to the builtin '\(name)'", range: target.range,
                          hint: "store it in a variable instead, e.g. '$\(name) = …'")
                } else {
                    error("cannot assign to this expression", range: target.range,
                          hint: "bpftrace can only assign to a $variable or an @map[key]")
                }
                return nil
            }
            advance()
            let value = parseExpression()
            return .assignment(target: target, op: op, value: value)
        }
        return .expression(target)
    }

    /// `struct task_struct *t = …`, `int x = 1`, `u64 n;`: a type word followed by a name or
    /// a pointer star, which no bpftrace statement starts with.
    private func looksLikeCDeclaration(_ word: String) -> Bool {
        let (next, after) = peek2()
        if word == "struct" || word == "union" || word == "enum" {
            return next.kind == .identifier && (after.kind == .identifier || after.kind == .punct(.star))
        }
        let cTypes: Set<String> = ["int", "long", "short", "char", "unsigned", "signed", "bool", "void"]
        guard BpftraceNames.scalarTypeNames.contains(word) || cTypes.contains(word) else { return false }
        return next.kind == .identifier
    }

    private mutating func parseBody(_ construct: String) -> Block? {
        guard at(.lbrace) else {
            let hint = at(.assign) ? "use '==' to compare; '=' only assigns"
                : "bpftrace needs braces around every \(construct) body, even a single statement"
            error("expected '{' to open the \(construct) body, found \(describe(token))", at: token, hint: hint)
            return nil
        }
        return parseBlock()
    }

    /// Maximum number of `else if` links in one chain. Chains do not count as nesting
    /// (a long `else if` ladder is ordinary code), but the tree still grows one level per link.
    static let maximumElseIfChain = 256

    /// `chainLength` > 0 for the `if` of an `else if`: it stays at its ladder's nesting level.
    private mutating func parseIf(chainLength: Int = 0) -> StatementKind? {
        if chainLength == 0 {
            guard enterNesting() else { return nil }
        } else if chainLength > Self.maximumElseIfChain {
            error("'else if' chain too long (more than \(Self.maximumElseIfChain) links)", at: token,
                  hint: "look the value up in a map, or split the chain")
            return nil
        }
        defer { if chainLength == 0 { leaveNesting() } }
        advance() // 'if'
        let condition = parseExpression()
        guard let then = parseBody("if") else { return nil }
        var elseBlock: Block? = nil
        if isWord("else") {
            advance()
            if isWord("if") {
                let start = token.start
                guard let nested = parseIf(chainLength: chainLength + 1) else { return nil }
                let r = range(from: start)
                elseBlock = Block([Statement(nested, range: r)], range: r)
            } else {
                guard let b = parseBody("else") else { return nil }
                elseBlock = b
            }
        }
        return .ifStatement(condition: condition, then: then, else: elseBlock)
    }

    private mutating func parseFor() -> StatementKind? {
        advance() // 'for'
        let parenthesized = accept(.lparen)
        guard token.kind == .variable else {
            error("expected a $variable after 'for', found \(describe(token))", at: token,
                  hint: "write 'for ($kv : @map) { … }' or 'for ($i : 0..10) { … }'")
            return nil
        }
        let name = String(text(token).dropFirst())
        advance()
        guard expect(.colon, "after the loop variable") else { return nil }
        let first = parseExpression()
        var kind: StatementKind
        if accept(.dotdot) {
            let end = parseExpression()
            kind = .forRange(variable: name, start: first, end: end, body: Block())
        } else if case .map = first.kind {
            kind = .forMap(variable: name, map: first, body: Block())
        } else {
            error("expected a @map or a range 'start..end' after ':'", range: first.range)
            return nil
        }
        if parenthesized {
            guard expect(.rparen, "to close 'for ('") else { return nil }
        }
        guard let body = parseBody("for") else { return nil }
        switch kind {
        case let .forRange(v, s, e, _): kind = .forRange(variable: v, start: s, end: e, body: body)
        case let .forMap(v, m, _): kind = .forMap(variable: v, map: m, body: body)
        default: break
        }
        return kind
    }

    private mutating func parseLet() -> StatementKind? {
        advance() // 'let'
        guard token.kind == .variable else {
            error("expected a $variable after 'let', found \(describe(token))", at: token)
            return nil
        }
        let name = String(text(token).dropFirst())
        advance()
        var type: TypeName? = nil
        if accept(.colon) {
            guard let t = parseTypeName() else { return nil }
            type = t
        }
        var value: Expression? = nil
        if accept(.assign) {
            value = parseExpression()
        } else if let op = assignmentOperator(token.kind), op != .assign {
            error("a 'let' declaration can only use '='", at: token)
            return nil
        }
        return .letDeclaration(name: name, type: type, value: value)
    }

    func assignmentOperator(_ kind: TokenKind) -> AssignmentOperator? {
        guard case let .punct(p) = kind else { return nil }
        switch p {
        case .assign: return .assign
        case .plusAssign: return .add
        case .minusAssign: return .subtract
        case .starAssign: return .multiply
        case .slashAssign: return .divide
        case .percentAssign: return .modulo
        case .ampAssign: return .bitAnd
        case .pipeAssign: return .bitOr
        case .caretAssign: return .bitXor
        case .shiftLeftAssign: return .shiftLeft
        case .shiftRightAssign: return .shiftRight
        default: return nil
        }
    }

    /// bpftrace assigns only to scratch variables and map entries (kernel memory is
    /// read-only to it).
    private func isAssignable(_ e: Expression) -> Bool {
        switch e.kind {
        case .variable, .map, .error: return true
        default: return false
        }
    }
}
