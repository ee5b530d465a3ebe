/// The expression/statement lexer. A value type over shared bytes: copying it is how the
/// parser looks ahead (copy, scan, discard), which keeps lookahead free of side effects.
struct Lexer: Sendable {
    let source: SourceText
    var pos: Int

    init(source: SourceText, pos: Int = 0) {
        self.source = source
        self.pos = pos
    }

    private var bytes: [UInt8] { source.bytes }

    @inline(__always) private func byte(_ at: Int) -> UInt8 {
        at < source.bytes.count ? source.bytes[at] : 0
    }

    /// Skips whitespace and comments. Returns the start offset of an unterminated block
    /// comment, if one was found (the lexer then stands at end of input).
    @discardableResult
    mutating func skipTrivia() -> Int? {
        let count = source.bytes.count
        while pos < count {
            let b = source.bytes[pos]
            if ByteClass.isSpace(b) {
                pos += 1
            } else if b == 0x2F && byte(pos + 1) == 0x2F {
                pos += 2
                while pos < count && source.bytes[pos] != 0x0A { pos += 1 }
            } else if b == 0x2F && byte(pos + 1) == 0x2A {
                let start = pos
                pos += 2
                var closed = false
                while pos < count {
                    if source.bytes[pos] == 0x2A && byte(pos + 1) == 0x2F {
                        pos += 2
                        closed = true
                        break
                    }
                    pos += 1
                }
                if !closed { return start }
            } else {
                break
            }
        }
        return nil
    }

    /// Skips spaces and tabs and comments that stay on the current line.
    mutating func skipHorizontalSpace() {
        while pos < source.bytes.count, source.bytes[pos] == 0x20 || source.bytes[pos] == 0x09 {
            pos += 1
        }
    }

    mutating func next() -> Token {
        if let commentStart = skipTrivia() {
            return Token(kind: .invalid, start: commentStart, end: pos, error: "unterminated comment")
        }
        let start = pos
        guard pos < source.bytes.count else {
            return Token(kind: .endOfFile, start: pos, end: pos)
        }
        let b = source.bytes[pos]
        if ByteClass.isIdentStart(b) {
            pos += 1
            while pos < source.bytes.count, ByteClass.isIdentContinue(source.bytes[pos]) { pos += 1 }
            return Token(kind: .identifier, start: start, end: pos)
        }
        if ByteClass.isDigit(b) {
            return lexInteger()
        }
        switch b {
        case UInt8(ascii: "$"):
            pos += 1
            let c = byte(pos)
            if c == UInt8(ascii: "#") {
                pos += 1
                return Token(kind: .positionalCount, start: start, end: pos)
            }
            if ByteClass.isDigit(c) {
                while ByteClass.isDigit(byte(pos)) { pos += 1 }
                return Token(kind: .positional, start: start, end: pos)
            }
            if ByteClass.isIdentStart(c) {
                while ByteClass.isIdentContinue(byte(pos)) { pos += 1 }
                return Token(kind: .variable, start: start, end: pos)
            }
            return Token(kind: .invalid, start: start, end: pos,
                         error: "expected a variable name after '$'")
        case UInt8(ascii: "@"):
            pos += 1
            while ByteClass.isIdentContinue(byte(pos)) { pos += 1 }
            return Token(kind: .map, start: start, end: pos)
        case UInt8(ascii: "\""):
            return lexString()
        default:
            break
        }
        if let punct = lexPunct() {
            return Token(kind: .punct(punct), start: start, end: pos)
        }
        // Skip one whole UTF-8 scalar so the error caret covers the character.
        pos += 1
        while pos < source.bytes.count, source.bytes[pos] & 0xC0 == 0x80 { pos += 1 }
        let text = source.text(start, pos)
        if b == UInt8(ascii: "'") {
            // Swallow a whole single-quoted literal so it yields one diagnostic: 'a' is a C
            // character literal, 'abc' a string written with the wrong quotes.
            var end = pos
            var closed = false
            while end < source.bytes.count, end - start < 256, source.bytes[end] != 0x0A {
                if source.bytes[end] == UInt8(ascii: "'") { closed = true; break }
                if source.bytes[end] == UInt8(ascii: "\\") { end += 1 }
                end += 1
            }
            if closed {
                pos = end + 1
                let inner = source.text(start + 1, end)
                if inner.count > 1 && !inner.hasPrefix("\\") {
                    return Token(kind: .invalid, start: start, end: pos,
                                 error: "strings must use double quotes",
                                 hint: "write \"\(inner)\"")
                }
            }
            return Token(kind: .invalid, start: start, end: pos,
                         error: "character literals are not supported",
                         hint: "use the ASCII code instead, e.g. 65 for 'A', or a \"string\"")
        }
        if b == UInt8(ascii: "#") {
            return Token(kind: .invalid, start: start, end: pos, error: "unexpected character '#'",
                         hint: "comments are written '// …' or '/* … */'; #include and #define go before the probes")
        }
        return Token(kind: .invalid, start: start, end: pos, error: "unexpected character '\(text)'")
    }

    private mutating func lexPunct() -> Punct? {
        let b0 = byte(pos), b1 = byte(pos + 1), b2 = byte(pos + 2)
        func take(_ n: Int, _ p: Punct) -> Punct { pos += n; return p }
        switch b0 {
        case UInt8(ascii: "{"): return take(1, .lbrace)
        case UInt8(ascii: "}"): return take(1, .rbrace)
        case UInt8(ascii: "("): return take(1, .lparen)
        case UInt8(ascii: ")"): return take(1, .rparen)
        case UInt8(ascii: "["): return take(1, .lbracket)
        case UInt8(ascii: "]"): return take(1, .rbracket)
        case UInt8(ascii: ";"): return take(1, .semicolon)
        case UInt8(ascii: ","): return take(1, .comma)
        case UInt8(ascii: ":"): return take(1, .colon)
        case UInt8(ascii: "?"): return take(1, .question)
        case UInt8(ascii: "~"): return take(1, .tilde)
        case UInt8(ascii: "."): return b1 == UInt8(ascii: ".") ? take(2, .dotdot) : take(1, .dot)
        case UInt8(ascii: "+"):
            if b1 == UInt8(ascii: "+") { return take(2, .plusPlus) }
            if b1 == UInt8(ascii: "=") { return take(2, .plusAssign) }
            return take(1, .plus)
        case UInt8(ascii: "-"):
            if b1 == UInt8(ascii: "-") { return take(2, .minusMinus) }
            if b1 == UInt8(ascii: "=") { return take(2, .minusAssign) }
            if b1 == UInt8(ascii: ">") { return take(2, .arrow) }
            return take(1, .minus)
        case UInt8(ascii: "*"): return b1 == UInt8(ascii: "=") ? take(2, .starAssign) : take(1, .star)
        case UInt8(ascii: "/"): return b1 == UInt8(ascii: "=") ? take(2, .slashAssign) : take(1, .slash)
        case UInt8(ascii: "%"): return b1 == UInt8(ascii: "=") ? take(2, .percentAssign) : take(1, .percent)
        case UInt8(ascii: "^"): return b1 == UInt8(ascii: "=") ? take(2, .caretAssign) : take(1, .caret)
        case UInt8(ascii: "&"):
            if b1 == UInt8(ascii: "&") { return take(2, .andAnd) }
            if b1 == UInt8(ascii: "=") { return take(2, .ampAssign) }
            return take(1, .amp)
        case UInt8(ascii: "|"):
            if b1 == UInt8(ascii: "|") { return take(2, .orOr) }
            if b1 == UInt8(ascii: "=") { return take(2, .pipeAssign) }
            return take(1, .pipe)
        case UInt8(ascii: "!"): return b1 == UInt8(ascii: "=") ? take(2, .notEqual) : take(1, .bang)
        case UInt8(ascii: "="): return b1 == UInt8(ascii: "=") ? take(2, .equal) : take(1, .assign)
        case UInt8(ascii: "<"):
            if b1 == UInt8(ascii: "<") { return b2 == UInt8(ascii: "=") ? take(3, .shiftLeftAssign) : take(2, .shiftLeft) }
            return b1 == UInt8(ascii: "=") ? take(2, .lessEqual) : take(1, .less)
        case UInt8(ascii: ">"):
            if b1 == UInt8(ascii: ">") { return b2 == UInt8(ascii: "=") ? take(3, .shiftRightAssign) : take(2, .shiftRight) }
            return b1 == UInt8(ascii: "=") ? take(2, .greaterEqual) : take(1, .greater)
        default: return nil
        }
    }

    private mutating func lexInteger() -> Token {
        let start = pos
        while pos < source.bytes.count, ByteClass.isIdentContinue(source.bytes[pos]) { pos += 1 }
        let error: String?
        switch IntegerLiteralParser.parse(source.bytes[start..<pos]) {
        case .success: error = nil
        case let .failure(message): error = message
        }
        return Token(kind: .integer, start: start, end: pos, error: error)
    }

    private mutating func lexString() -> Token {
        let start = pos
        pos += 1
        var value: [UInt8] = []
        var error: String? = nil
        let count = source.bytes.count
        while true {
            guard pos < count, source.bytes[pos] != 0x0A else {
                return Token(kind: .string, start: start, end: pos, stringValue: String(decoding: value, as: UTF8.self),
                             error: "unterminated string literal")
            }
            let b = source.bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                break
            }
            if b != UInt8(ascii: "\\") {
                value.append(b)
                pos += 1
                continue
            }
            pos += 1
            let e = byte(pos)
            switch e {
            case UInt8(ascii: "n"): value.append(0x0A); pos += 1
            case UInt8(ascii: "t"): value.append(0x09); pos += 1
            case UInt8(ascii: "r"): value.append(0x0D); pos += 1
            case UInt8(ascii: "\\"): value.append(0x5C); pos += 1
            case UInt8(ascii: "\""): value.append(0x22); pos += 1
            case UInt8(ascii: "x"):
                pos += 1
                var v = 0, digits = 0
                while digits < 2, ByteClass.isHexDigit(byte(pos)) {
                    v = v * 16 + Int(hexValue(byte(pos)))
                    pos += 1
                    digits += 1
                }
                if digits == 0 { error = error ?? "invalid escape sequence '\\x' (expected hex digits)" }
                value.append(UInt8(v & 0xFF))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = 0, digits = 0
                while digits < 3, byte(pos) >= UInt8(ascii: "0"), byte(pos) <= UInt8(ascii: "7") {
                    v = v * 8 + Int(byte(pos) - UInt8(ascii: "0"))
                    pos += 1
                    digits += 1
                }
                if v > 255 { error = error ?? "octal escape sequence out of range" }
                value.append(UInt8(v & 0xFF))
            default:
                if pos >= count || e == 0x0A {
                    continue
                }
                error = error ?? "invalid escape sequence '\\\(String(decoding: [e], as: UTF8.self))'"
                value.append(e)
                pos += 1
            }
        }
        return Token(kind: .string, start: start, end: pos, stringValue: String(decoding: value, as: UTF8.self),
                     error: error)
    }

    private func hexValue(_ b: UInt8) -> UInt8 {
        if ByteClass.isDigit(b) { return b - 0x30 }
        if b >= 0x61 { return b - 0x61 + 10 }
        return b - 0x41 + 10
    }
}
