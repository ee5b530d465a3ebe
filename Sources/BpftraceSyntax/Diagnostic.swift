/// A problem found in a program. Diagnostics are shown to people and fed verbatim to an LLM
/// that repairs programs, so the rendered form is fixed and precise (see `render`).
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning, note
    }

    public var severity: Severity
    public var message: String
    public var range: SourceRange
    /// A concrete suggestion for fixing the problem, rendered as a trailing `hint:` line.
    public var hint: String?

    public init(severity: Severity, message: String, range: SourceRange, hint: String? = nil) {
        self.severity = severity
        self.message = message
        self.range = range
        self.hint = hint
    }

    public static func error(_ message: String, at range: SourceRange, hint: String? = nil) -> Diagnostic {
        Diagnostic(severity: .error, message: message, range: range, hint: hint)
    }

    public static func warning(_ message: String, at range: SourceRange, hint: String? = nil) -> Diagnostic {
        Diagnostic(severity: .warning, message: message, range: range, hint: hint)
    }

    public static func note(_ message: String, at range: SourceRange, hint: String? = nil) -> Diagnostic {
        Diagnostic(severity: .note, message: message, range: range, hint: hint)
    }

    /// The header line alone: `FILE:LINE:COL: error: MESSAGE`.
    public var description: String {
        "\(range.start.file):\(range.start.line):\(range.start.column): \(severity.rawValue): \(message)"
    }

    /// Full rendering:
    /// ```
    /// FILE:LINE:COL: error: MESSAGE
    /// <the source line>
    /// <spaces>^~~~
    /// hint: HINT
    /// ```
    /// The caret line copies tabs from the source line so the caret stays aligned in any
    /// tab width. A range running past the end of its first line is underlined to that line's
    /// end. Without source text (or for synthesized ranges) only the header and hint appear.
    public func render(source: String?) -> String {
        var out = description
        if let source, range.start.line > 0,
           let lineText = DiagnosticRendering.line(range.start.line, of: source) {
            out += "\n" + lineText + "\n" + DiagnosticRendering.caretLine(for: range, lineText: lineText)
        }
        if let hint {
            out += "\nhint: " + hint
        }
        return out
    }

    /// Renders many diagnostics, one block per diagnostic, separated by newlines.
    public static func render(_ diagnostics: [Diagnostic], source: String?) -> String {
        diagnostics.map { $0.render(source: source) }.joined(separator: "\n")
    }
}

enum DiagnosticRendering {
    /// The text of 1-based line `number`, without its newline. Works on UTF-8 bytes so a long
    /// file is scanned once, not walked by String.Index.
    static func line(_ number: Int, of source: String) -> String? {
        var current = 1
        var start = 0
        let bytes = Array(source.utf8)
        var index = 0
        while current < number {
            guard let nl = bytes[index...].firstIndex(of: 0x0A) else { return nil }
            index = nl + 1
            current += 1
        }
        start = index
        var end = start
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        var slice = bytes[start..<end]
        if slice.last == 0x0D { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    /// Spaces (tabs copied) up to the start column, then `^` and `~` for the rest of the
    /// range on that line. Columns are byte based; the caret line counts characters, so
    /// non-ASCII text before the range keeps the caret aligned.
    static func caretLine(for range: SourceRange, lineText: String) -> String {
        let bytes = Array(lineText.utf8)
        let startByte = max(0, range.start.column - 1)
        var endByte: Int
        if range.end.line == range.start.line, range.end.offset > range.start.offset {
            endByte = range.end.column - 1
        } else if range.end.line > range.start.line {
            endByte = bytes.count
        } else {
            endByte = startByte + 1
        }
        endByte = max(endByte, startByte + 1)
        func isScalarStart(_ i: Int) -> Bool { i >= bytes.count || bytes[i] & 0xC0 != 0x80 }
        var prefix = ""
        for i in 0..<startByte where isScalarStart(i) {
            prefix += (i < bytes.count && bytes[i] == 0x09) ? "\t" : " "
        }
        var length = 0
        for i in startByte..<endByte where isScalarStart(i) { length += 1 }
        return prefix + "^" + String(repeating: "~", count: max(0, length - 1))
    }
}
