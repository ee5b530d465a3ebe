/// Token kinds of the expression/statement lexer. Attach points, preprocessor lines and C
/// definitions are scanned by separate raw scanners because their lexical rules differ
/// (paths with `/`, wildcards, verbatim C).
enum TokenKind: Equatable, Sendable {
    case identifier
    /// `$name`
    case variable
    /// `$1`
    case positional
    /// `$#`
    case positionalCount
    /// `@name` or `@`
    case map
    case integer
    case string
    case punct(Punct)
    case endOfFile
    /// Bytes that start no token; the lexer already reported them.
    case invalid
}

enum Punct: String, Sendable {
    case lbrace = "{", rbrace = "}", lparen = "(", rparen = ")", lbracket = "[", rbracket = "]"
    case semicolon = ";", comma = ",", colon = ":", dot = ".", dotdot = "..", arrow = "->"
    case question = "?"
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%"
    case amp = "&", pipe = "|", caret = "^", tilde = "~", bang = "!"
    case assign = "=", equal = "==", notEqual = "!="
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case shiftLeft = "<<", shiftRight = ">>", andAnd = "&&", orOr = "||"
    case plusPlus = "++", minusMinus = "--"
    case plusAssign = "+=", minusAssign = "-=", starAssign = "*=", slashAssign = "/="
    case percentAssign = "%=", ampAssign = "&=", pipeAssign = "|=", caretAssign = "^="
    case shiftLeftAssign = "<<=", shiftRightAssign = ">>="
}

struct Token: Sendable {
    var kind: TokenKind
    /// Byte offsets `[start, end)` into the source.
    var start: Int
    var end: Int
    /// Decoded value for string tokens.
    var stringValue: String? = nil
    /// Set when the token is malformed (bad escape, unterminated string, bad integer…);
    /// the parser reports it when it consumes the token, so lookahead never reports twice.
    var error: String? = nil
    /// Optional fix suggestion for `error`.
    var hint: String? = nil
}
