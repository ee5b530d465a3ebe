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

    static func caretLine(for range: SourceRange, lineText: String) -> String {
        let bytes = Array(lineText.utf8)
        let column = max(1, range.start.column)
        var prefix = ""
        var i = 0
        while i < column - 1 {
            prefix += (i < bytes.count && bytes[i] == 0x09) ? "\t" : " "
            i += 1
        }
        var length: Int
        if range.end.line == range.start.line, range.end.offset > range.start.offset {
            length = range.end.column - range.start.column
        } else if range.end.line > range.start.line {
            length = bytes.count - (column - 1)
        } else {
            length = 1
        }
        length = max(1, length)
        return prefix + "^" + String(repeating: "~", count: length - 1)
    }
}
