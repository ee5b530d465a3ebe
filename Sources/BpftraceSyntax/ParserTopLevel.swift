/// Top level: shebang, preamble (preprocessor lines and C definitions kept as text),
/// `config` block, and probes. This level works on raw bytes because attach points and C
/// text do not follow the expression lexer's rules.
extension ParserCore {
    private var bytes: [UInt8] { source.bytes }

    private func byte(_ at: Int) -> UInt8 { at < bytes.count ? bytes[at] : 0 }

    /// Reads an identifier at `offset` without consuming it.
    private func word(at offset: Int) -> (text: String, end: Int)? {
        guard offset < bytes.count, ByteClass.isIdentStart(bytes[offset]) else { return nil }
        var end = offset + 1
        while end < bytes.count, ByteClass.isIdentContinue(bytes[end]) { end += 1 }
        return (source.text(offset, end), end)
    }

    /// Offset of the first non-trivia byte at or after `offset`.
    private func skipTrivia(from offset: Int) -> Int {
        var l = Lexer(source: source, pos: offset)
        l.skipTrivia()
        return l.pos
    }

    mutating func parseProgram() -> Program {
        var program = Program(range: makeRange(0, bytes.count))
        // Editors on some systems prepend a UTF-8 byte order mark; it is not program text.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            lexer.pos = 3
        }
        if bytes.count >= lexer.pos + 2, bytes[lexer.pos] == UInt8(ascii: "#"), bytes[lexer.pos + 1] == UInt8(ascii: "!") {
            var end = lexer.pos
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var shebang = source.text(lexer.pos, end)
            if shebang.hasSuffix("\r") { shebang.removeLast() }
            program.shebang = shebang
            lexer.pos = end
        }
        while !abandoned {
            if let commentStart = lexer.skipTrivia() {
                panicking = false
                error("unterminated comment", range: makeRange(commentStart, commentStart + 2))
                break
            }
            panicking = false
            let start = lexer.pos
            guard start < bytes.count else { break }
            if bytes[start] == UInt8(ascii: ";") {
                error("unexpected ';' between probes", range: makeRange(start, start + 1),
                      hint: "a probe ends with its closing '}'; remove the ';'")
                lexer.pos = start + 1
                continue
            }
            if bytes[start] == UInt8(ascii: "#") {
                let item = parsePreprocessorLine()
                if item.text.hasPrefix("#!") {
                    error("'#!' is only allowed at the very start of the file", range: item.range)
                    continue
                }
                program.preamble.append(item)
                continue
            }
            if let (w, wordEnd) = word(at: start) {
                switch w {
                case "typedef":
                    error("'typedef' is not supported by bpftrace", range: source.range(start, wordEnd),
                          hint: "define the struct, union or enum directly and use its tagged name, e.g. 'struct foo'")
                    _ = parseCDefinition(keyword: w, start: start, wordEnd: wordEnd)
                    continue
                case "struct", "union", "enum":
                    if let item = parseCDefinition(keyword: w, start: start, wordEnd: wordEnd) {
                        program.preamble.append(item)
                    }
                    continue
                case "config" where byte(skipTrivia(from: wordEnd)) == UInt8(ascii: "="):
                    if let block = parseConfig() {
                        if program.config != nil {
                            error("duplicate config block", range: block.range)
                        }
                        program.config = block
                    }
                    continue
                case "let" where byte(skipTrivia(from: wordEnd)) == UInt8(ascii: "@"):
                    if let declaration = parseMapDeclaration(start: start) {
                        program.mapDeclarations.append(declaration)
                    } else {
                        recoverToNextTopLevelStatement(from: start)
                    }
                    continue
                case "import", "macro", "fn":
                    error("'\(w)' declarations are not supported by Ken", range: makeRange(start, wordEnd),
                          hint: "inline the code into the probes")
                    recoverToNextTopLevelItem(from: start)
                    continue
                default:
                    break
                }
            }
            if let probe = parseProbe() {
                program.probes.append(probe)
            }
        }
        if program.probes.isEmpty && diagnostics.isEmpty {
            panicking = false
            error("the program has no probes", range: makeRange(bytes.count, bytes.count),
                  hint: "add a probe, e.g. 'BEGIN { printf(\"hello\\n\"); }'")
        }
        return program
    }

    // MARK: Preamble

    private mutating func parsePreprocessorLine() -> PreambleItem {
        let start = lexer.pos
        var end = start
        while end < bytes.count, bytes[end] != 0x0A {
            // A backslash before the newline continues the directive.
            if bytes[end] == UInt8(ascii: "\\"), byte(end + 1) == 0x0A { end += 2; continue }
            end += 1
        }
        lexer.pos = end
        var text = source.text(start, end)
        while text.last == "\r" || text.last == " " || text.last == "\t" { text.removeLast() }
        // Directive name after '#' and optional spaces.
        var i = start + 1
        while i < end, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
        let directive = word(at: i)
        var kind = PreambleItem.Kind.preprocessor
        var name: String? = nil
        if let directive {
            var j = directive.end
            while j < end, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            switch directive.text {
            case "include":
                kind = .include
                var rest = source.text(j, end)
                while rest.last == " " || rest.last == "\t" || rest.last == "\r" { rest.removeLast() }
                name = rest.isEmpty ? nil : rest
            case "define":
                kind = .define
                name = word(at: j)?.text
            default:
                break
            }
        }
        return PreambleItem(kind: kind, name: name, text: text, range: makeRange(start, end))
    }

    /// `struct name { … };` and friends, kept verbatim up to the terminating `;`.
    private mutating func parseCDefinition(keyword: String, start: Int, wordEnd: Int) -> PreambleItem? {
        let kind: PreambleItem.Kind
        switch keyword {
        case "struct": kind = .structDefinition
        case "union": kind = .unionDefinition
        case "enum": kind = .enumDefinition
        default: kind = .typedef
        }
        var name: String? = nil
        if kind != .typedef, let tag = word(at: skipTrivia(from: wordEnd)) {
            name = tag.text
        }
        var i = wordEnd
        var braceDepth = 0
        var lastIdentifier: String? = nil
        while i < bytes.count {
            let next = skipTrivia(from: i)
            i = next
            guard i < bytes.count else { break }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                i += 1
                while i < bytes.count, bytes[i] != b, bytes[i] != 0x0A {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
                i += 1
                continue
            }
            if let w = word(at: i) {
                if braceDepth == 0 { lastIdentifier = w.text }
                i = w.end
                continue
            }
            if b == UInt8(ascii: "{") { braceDepth += 1 }
            if b == UInt8(ascii: "}") { braceDepth -= 1 }
            if b == UInt8(ascii: ";") && braceDepth <= 0 {
                i += 1
                lexer.pos = i
                // Without braces this is a forward declaration (`struct foo;`): valid C, kept.
                if kind == .typedef { name = lastIdentifier }
                return PreambleItem(kind: kind, name: name, text: source.text(start, i),
                                    range: makeRange(start, i))
            }
            i += 1
        }
        lexer.pos = bytes.count
        error("expected ';' after \(keyword) definition", range: makeRange(start, wordEnd),
              hint: "C definitions in the preamble end with '};'")
        return nil
    }

    // MARK: Config

    private mutating func parseConfig() -> ConfigBlock? {
        let start = lexer.pos
        advance() // the stale token becomes 'config'
        advance() // '='
        advance() // '{'
        guard expect(.lbrace, "to open the config block") else {
            recoverToNextTopLevelItem(from: start)
            return nil
        }
        var entries: [ConfigEntry] = []
        while !at(.rbrace) {
            if token.kind == .endOfFile {
                error("expected '}' to close the config block", at: token)
                return nil
            }
            if accept(.semicolon) { continue }
            let entryStart = token.start
            guard token.kind == .identifier else {
                error("expected a config option name, found \(describe(token))", at: token)
                recoverToNextTopLevelItem(from: start)
                return nil
            }
            let key = text(token)
            advance()
            guard expect(.assign, "after config option '\(key)'") else {
                recoverToNextTopLevelItem(from: start)
                return nil
            }
            let valueToken = token
            let value: Expression
            switch token.kind {
            case .integer, .string:
                value = parsePrimary()
            case .identifier:
                let word = text(token)
                advance()
                let kind: ExpressionKind = word == "true" ? .boolean(true)
                    : word == "false" ? .boolean(false) : .identifier(word)
                value = Expression(kind, range: makeRange(valueToken.start, valueToken.end))
            default:
                error("expected a value for config option '\(key)', found \(describe(token))", at: token)
                recoverToNextTopLevelItem(from: start)
                return nil
            }
            entries.append(ConfigEntry(key: key, value: value, range: range(from: entryStart)))
            if !at(.rbrace) && !expect(.semicolon, "after config option '\(key)'") {
                recoverToNextTopLevelItem(from: start)
                return nil
            }
        }
        let end = token.end
        lexer.pos = end
        return ConfigBlock(entries: entries, range: makeRange(start, end))
    }

    // MARK: Map declarations

    /// `let @name = type(N);` with the lexer at `let`.
    private mutating func parseMapDeclaration(start: Int) -> MapDeclaration? {
        advance() // the stale token becomes 'let'
        advance() // '@name'
        let name = String(text(token).dropFirst())
        advance()
        guard expect(.assign, "after the map name in a map declaration") else { return nil }
        guard token.kind == .identifier else {
            error("expected a map type such as hash(100), found \(describe(token))", at: token,
                  hint: "map types: hash, lruhash, percpuhash, percpulruhash, percpuarray")
            return nil
        }
        let mapType = text(token)
        advance()
        guard expect(.lparen, "after the map type") else { return nil }
        guard token.kind == .integer, token.error == nil else {
            error("expected the maximum number of entries, found \(describe(token))", at: token)
            return nil
        }
        var value: UInt64? = nil
        if case let .success(v, _) = IntegerLiteralParser.parse(source.bytes[token.start..<token.end]) { value = v }
        let literal = IntegerLiteral(value: value, text: text(token))
        advance()
        guard expect(.rparen, "after the number of entries") else { return nil }
        guard at(.semicolon) else {
            error("expected ';' after the map declaration, found \(describe(token))", at: token)
            return nil
        }
        let end = token.end
        lexer.pos = end
        return MapDeclaration(name: name, mapType: mapType, maxEntries: literal, range: makeRange(start, end))
    }

    // MARK: Probes

    private mutating func parseProbe() -> Probe? {
        let start = lexer.pos
        var attachPoints: [AttachPoint] = []
        while true {
            lexer.skipTrivia()
            guard let ap = scanAttachPoint() else {
                recoverToNextTopLevelItem(from: start)
                return nil
            }
            attachPoints.append(ap)
            lexer.skipTrivia()
            if lexer.pos < bytes.count, bytes[lexer.pos] == UInt8(ascii: ",") {
                lexer.pos += 1
                continue
            }
            break
        }
        advance()
        var predicate: Expression? = nil
        if at(.slash) {
            let predicateStart = token.start
            advance()
            if at(.slash) {
                error("empty predicate", range: makeRange(predicateStart, token.end),
                      hint: "write a condition between the slashes, e.g. /pid == 1234/")
            } else {
                inPredicate = true
                nodeBudget = Parser.maximumExpressionNodes
                predicate = parseExpression()
                inPredicate = false
            }
            expect(.slash, "to end the predicate")
        }
        guard at(.lbrace) else {
            error("expected '{' to open the probe body, found \(describe(token))", at: token,
                  hint: attachPoints.count == 1 ? "separate attach points with ','" : nil)
            recoverToNextTopLevelItem(from: token.start)
            return nil
        }
        let body = parseBlock(topLevel: true)
        return Probe(attachPoints: attachPoints, predicate: predicate, body: body,
                     range: makeRange(start, body.range.end.offset))
    }

    /// Scans one attach point. Rules: it ends at whitespace, `,`, `{`, `;` or `}`; a `/` ends
    /// it only before the first `:` (afterwards it is part of a path such as
    /// `uprobe:/bin/bash:readline`); double-quoted parts may contain anything.
    private mutating func scanAttachPoint() -> AttachPoint? {
        let start = lexer.pos
        var i = start
        var seenColon = false
        var colonOffsets: [Int] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != 0x0A {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
                if i >= bytes.count || bytes[i] != UInt8(ascii: "\"") {
                    error("unterminated string in attach point", range: makeRange(start, i))
                    lexer.pos = i
                    return nil
                }
                i += 1
                continue
            }
            if ByteClass.isSpace(b) || b == UInt8(ascii: ",") || b == UInt8(ascii: "{")
                || b == UInt8(ascii: ";") || b == UInt8(ascii: "}") { break }
            if b == UInt8(ascii: "/") && !seenColon { break }
            if b == UInt8(ascii: ":") {
                seenColon = true
                colonOffsets.append(i)
            }
            i += 1
        }
        let end = i
        let r = makeRange(start, end)
        guard end > start else {
            var t = Lexer(source: source, pos: start)
            let found = t.next()
            error("expected an attach point (e.g. 'tracepoint:syscalls:sys_enter_openat'), found \(describe(found))",
                  range: makeRange(found.start, found.end))
            return nil
        }
        lexer.pos = end
        let providerEnd = colonOffsets.first ?? end
        let provider = source.text(start, providerEnd)
        var target: [String] = []
        var partStart = providerEnd + 1
        for c in colonOffsets.dropFirst() + [end] where colonOffsets.first != nil {
            target.append(source.text(partStart, c))
            partStart = c + 1
        }
        guard let kind = ProbeKind.from(provider: provider) ?? ProbeKind.from(provider: provider.lowercased()) else {
            error("unknown probe type '\(provider)'", range: makeRange(start, providerEnd),
                  hint: "probe types: BEGIN, END, tracepoint, rawtracepoint, kprobe, kretprobe, fentry, fexit, uprobe, uretprobe, usdt, profile, interval, software, hardware, watchpoint, asyncwatchpoint, iter")
            return nil
        }
        if kind.takesTarget && (target.isEmpty || target.allSatisfy(\.isEmpty)) {
            error("\(kind.canonicalProvider) probe needs a target, e.g. '\(Self.example(kind))'", range: r)
            return nil
        }
        if !kind.takesTarget && !target.isEmpty {
            error("\(kind.canonicalProvider) probe takes no target", range: r)
            return nil
        }
        return AttachPoint(kind: kind, provider: provider, target: target, range: r)
    }

    static func example(_ kind: ProbeKind) -> String {
        switch kind {
        case .tracepoint: return "tracepoint:syscalls:sys_enter_openat"
        case .rawtracepoint: return "rawtracepoint:sched_switch"
        case .kprobe: return "kprobe:do_nanosleep"
        case .kretprobe: return "kretprobe:do_nanosleep"
        case .fentry: return "fentry:vfs_read"
        case .fexit: return "fexit:vfs_read"
        case .uprobe: return "uprobe:/bin/bash:readline"
        case .uretprobe: return "uretprobe:/bin/bash:readline"
        case .usdt: return "usdt:/usr/bin/python3:function__entry"
        case .profile: return "profile:hz:99"
        case .interval: return "interval:s:1"
        case .software: return "software:page-faults:100"
        case .hardware: return "hardware:cache-misses:1000000"
        case .watchpoint: return "watchpoint:0x10000000:8:rw"
        case .asyncwatchpoint: return "asyncwatchpoint:0x10000000:8:rw"
        case .iter: return "iter:task"
        case .begin, .end: return kind.canonicalProvider
        }
    }

    /// Skips a top-level `…;` statement (map declarations).
    mutating func recoverToNextTopLevelStatement(from offset: Int) {
        var l = Lexer(source: source, pos: offset)
        var t = l.next()
        while t.kind != .endOfFile && t.kind != .punct(.semicolon) { t = l.next() }
        lexer.pos = t.kind == .endOfFile ? source.bytes.count : t.end
    }

    /// After a broken top-level item: skip to the next `{`, skip its balanced block, and
    /// resume at the top level. Works on tokens so braces in strings/comments don't count.
    mutating func recoverToNextTopLevelItem(from offset: Int) {
        var l = Lexer(source: source, pos: max(offset, lexer.pos))
        var t = l.next()
        // A `;` or the next line's start of a new item may also end a broken item, but the
        // reliable anchor in bpftrace is the body block.
        while t.kind != .endOfFile && t.kind != .punct(.lbrace) { t = l.next() }
        if t.kind == .punct(.lbrace) {
            var level = 1
            while level > 0 {
                t = l.next()
                if t.kind == .endOfFile { break }
                if t.kind == .punct(.lbrace) { level += 1 }
                if t.kind == .punct(.rbrace) { level -= 1 }
            }
        }
        lexer.pos = t.end
        if t.kind == .endOfFile { lexer.pos = source.bytes.count }
    }
}
