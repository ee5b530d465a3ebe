/// Entry point of the bpftrace parser: recursive descent with one token of lookahead,
/// panic-mode error recovery at statement and probe boundaries, and hard limits on nesting
/// so hostile input yields a diagnostic instead of a stack overflow.
public enum Parser {
    /// Parses a whole program. Never traps: malformed input produces diagnostics.
    public static func parse(source: String, file: String) -> ParseResult {
        var core = ParserCore(source: SourceText(source, file: file))
        let program = core.parseProgram()
        return ParseResult(partialProgram: program, diagnostics: core.diagnostics)
    }

    /// Parses a single expression (e.g. an annotation written by a tool). Trailing input is
    /// an error.
    public static func parseExpression(source: String, file: String) -> (expression: Expression?, diagnostics: [Diagnostic]) {
        var core = ParserCore(source: SourceText(source, file: file))
        core.advance()
        let e = core.parseExpression()
        if core.token.kind != .endOfFile {
            core.error("unexpected \(core.describe(core.token)) after expression", at: core.token)
        }
        let failed = core.diagnostics.contains { $0.severity == .error }
        return (failed ? nil : e, core.diagnostics)
    }

    /// Limits that keep recursion bounded. Real programs stay far below them.
    public static let maximumNestingDepth = 64
    public static let maximumExpressionNodes = 2_000
    public static let maximumDiagnostics = 50
}

struct ParserCore {
    let source: SourceText
    var lexer: Lexer
    var token: Token
    /// End offset of the last consumed token: the end of the node being built.
    var previousEnd = 0
    var diagnostics: [Diagnostic] = []
    /// Set after an error until the parser resynchronizes; suppresses cascades.
    var panicking = false
    /// Set when the diagnostic cap is hit: the parser then stops as soon as it can.
    var abandoned = false
    var depth = 0
    var nodeBudget = Parser.maximumExpressionNodes
    var inPredicate = false
    /// Set when a probe header was found inside a block (a forgotten `}`): every open block
    /// closes until the probe body that owns them returns to the top level.
    var unwindingToProbeHeader = false
    /// Lexer errors before this offset were already reported.
    var lexErrorsReportedUpTo = 0
    /// Line index of the last location computed (see `SourceText.location(_:hint:)`).
    var lineHint = 0

    init(source: SourceText) {
        self.source = source
        self.lexer = Lexer(source: source)
        self.token = Token(kind: .endOfFile, start: 0, end: 0)
    }

    // MARK: Tokens

    mutating func advance() {
        previousEnd = token.end
        token = lexer.next()
        if let message = token.error, token.start >= lexErrorsReportedUpTo {
            lexError(message, at: token, hint: token.hint)
            lexErrorsReportedUpTo = token.end
        }
    }

    /// Moves back to the token starting at `offset` (used by recovery); lexer errors in the
    /// re-scanned text are not reported twice.
    mutating func rewind(to offset: Int) {
        lexer.pos = offset
        token = lexer.next()
    }

    /// Lexer errors are reported even while panicking: they are at distinct places and say
    /// exactly what is wrong with the characters.
    mutating func lexError(_ message: String, at token: Token, hint: String? = nil) {
        panicking = false
        error(message, at: token, hint: hint)
    }

    func peek() -> Token {
        var copy = lexer
        return copy.next()
    }

    func peek2() -> (Token, Token) {
        var copy = lexer
        let a = copy.next()
        let b = copy.next()
        return (a, b)
    }

    func at(_ p: Punct) -> Bool { token.kind == .punct(p) }

    mutating func accept(_ p: Punct) -> Bool {
        if at(p) { advance(); return true }
        return false
    }

    @discardableResult
    mutating func expect(_ p: Punct, _ context: String, hint: String? = nil) -> Bool {
        if accept(p) { return true }
        // A stray '=' inside a condition is almost always a comparison written wrong.
        let hint = hint ?? (at(.assign) ? "use '==' to compare; '=' only assigns" : nil)
        error("expected '\(p.rawValue)' \(context), found \(describe(token))", at: token, hint: hint)
        return false
    }

    func text(_ t: Token) -> String { source.text(t.start, t.end) }

    func isWord(_ t: Token, _ word: String) -> Bool {
        t.kind == .identifier && t.end - t.start == word.utf8.count
            && source.bytes[t.start..<t.end].elementsEqual(word.utf8)
    }

    func isWord(_ word: String) -> Bool { isWord(token, word) }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .endOfFile: return "end of input"
        case .string: return "string literal"
        default:
            var s = text(t)
            if s.utf8.count > 40 { s = String(s.prefix(37)) + "..." }
            return "'\(s)'"
        }
    }

    // MARK: Diagnostics

    mutating func error(_ message: String, at t: Token, hint: String? = nil) {
        error(message, range: makeRange(t.start, t.end), hint: hint)
    }

    mutating func error(_ message: String, range: SourceRange, hint: String? = nil) {
        guard !panicking, !abandoned else { return }
        panicking = true
        if diagnostics.count >= Parser.maximumDiagnostics {
            diagnostics.append(.error("too many errors; stopping", at: range))
            abandoned = true
            return
        }
        diagnostics.append(.error(message, at: range, hint: hint))
    }

    mutating func warning(_ message: String, range: SourceRange, hint: String? = nil) {
        guard !abandoned, diagnostics.count < Parser.maximumDiagnostics else { return }
        diagnostics.append(.warning(message, at: range, hint: hint))
    }

    mutating func makeRange(_ start: Int, _ end: Int) -> SourceRange {
        source.range(start, end, hint: &lineHint)
    }

    mutating func range(from start: Int) -> SourceRange {
        makeRange(start, max(start, previousEnd))
    }

    // MARK: Nesting guard

    /// Enters one nesting level; false (with a diagnostic) when the limit is reached.
    mutating func enterNesting() -> Bool {
        if depth >= Parser.maximumNestingDepth {
            error("program nested too deeply (more than \(Parser.maximumNestingDepth) levels)", at: token,
                  hint: "split deeply nested expressions or blocks using variables")
            return false
        }
        depth += 1
        return true
    }

    mutating func leaveNesting() { depth -= 1 }
}
