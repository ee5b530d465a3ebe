/// A value in a TOML document (the subset Ken's configuration uses).
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table([String: TOMLValue])

    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .array: return "array"
        case .table: return "table"
        }
    }
}

/// A TOML syntax error, with the 1-based line it was found on.
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A small, strict TOML parser for configuration files: tables (`[a]`, `[a.b]`), dotted and
/// quoted keys, basic and literal strings (with escapes), integers (decimal, hex, octal, binary,
/// underscores), floats, booleans, arrays (nested, multi-line, trailing comma) and inline tables,
/// comments, multi-line basic and literal strings. Not supported (rejected with an error, never
/// misread): dates, arrays of tables.
///
/// Written in-house rather than pulling a C++ TOML library into the root agent: the agent's
/// configuration is small and the parser must never crash on a bad file.
public struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1

    public static func parse(_ text: String) throws(TOMLError) -> [String: TOMLValue] {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var atEnd: Bool { index >= bytes.count }
    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

    private mutating func skipSpaces() {
        while let c = current, c == 0x20 || c == 0x09 { index += 1 }
    }

    private mutating func skipComment() {
        if current == UInt8(ascii: "#") { while let c = current, c != 0x0A { index += 1 } }
    }

    /// Skips whitespace, newlines and comments (inside arrays).
    private mutating func skipBlank() {
        while let c = current {
            if c == 0x20 || c == 0x09 || c == 0x0D { index += 1 } else if c == 0x0A { index += 1; line += 1 } else if c == UInt8(ascii: "#") { skipComment() } else { break }
        }
    }

    /// After a key/value or header: only spaces and a comment may follow before the newline.
    private mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        skipComment()
        if current == 0x0D { index += 1 }
        guard let c = current else { return }
        guard c == 0x0A else { throw error("unexpected \(describe(c)) after value; expected end of line") }
        index += 1
        line += 1
    }

    private func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : String(format: "byte 0x%02x", c)
    }

    private mutating func document() throws(TOMLError) -> [String: TOMLValue] {
        var root: [String: TOMLValue] = [:]
        var tablePath: [String] = []
        var definedTables: Set<[String]> = []
        while true {
            skipBlank()
            guard let c = current else { break }
            if c == UInt8(ascii: "[") {
                index += 1
                if current == UInt8(ascii: "[") { throw error("arrays of tables ([[...]]) are not supported") }
                skipSpaces()
                let path = try key()
                skipSpaces()
                guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
                index += 1
                guard definedTables.insert(path).inserted else {
                    throw error("table [\(path.joined(separator: "."))] is defined twice")
                }
                try ensureTable(&root, path: path)
                tablePath = path
                try endOfLine()
            } else {
                let keyPath = try key()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw error("expected '=' after key \(keyPath.joined(separator: "."))") }
                index += 1
                skipSpaces()
                let v = try value()
                try insert(&root, path: tablePath + keyPath, value: v)
                try endOfLine()
            }
        }
        return root
    }

    private func ensureTable(_ table: inout [String: TOMLValue], path: [String]) throws(TOMLError) {
        guard let first = path.first else { return }
        var child: [String: TOMLValue]
        switch table[first] {
        case nil: child = [:]
        case let .table(t)?: child = t
        case let other?: throw error("key \(first) is already a \(other.typeName), not a table")
        }
        try ensureTable(&child, path: Array(path.dropFirst()))
        table[first] = .table(child)
    }

    private func insert(_ table: inout [String: TOMLValue], path: [String], value: TOMLValue) throws(TOMLError) {
        guard let first = path.first else { return }
        if path.count == 1 {
            guard table[first] == nil else { throw error("key \(first) is defined twice") }
            table[first] = value
            return
        }
        var child: [String: TOMLValue]
        switch table[first] {
        case nil: child = [:]
        case let .table(t)?: child = t
        case let other?: throw error("key \(first) is already a \(other.typeName), not a table")
        }
        try insert(&child, path: Array(path.dropFirst()), value: value)
        table[first] = .table(child)
    }

    private static func isBareKeyByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    /// A possibly dotted key: `a`, `a.b`, `"quoted key".c`.
    private mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = current else { throw error("expected a key, found end of file") }
            if c == UInt8(ascii: "\"") {
                parts.append(try basicString())
            } else if c == UInt8(ascii: "'") {
                parts.append(try literalString())
            } else if TOMLParser.isBareKeyByte(c) {
                let start = index
                while let b = current, TOMLParser.isBareKeyByte(b) { index += 1 }
                parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
            } else {
                throw error("expected a key, found \(describe(c))")
            }
            skipSpaces()
            if current == UInt8(ascii: ".") { index += 1; continue }
            return parts
        }
    }

    private mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = current else { throw error("expected a value, found end of file") }
        switch c {
        case UInt8(ascii: "\""):
            if bytes.count > index + 2, bytes[index + 1] == c, bytes[index + 2] == c {
                return .string(try multiLineString(literal: false))
            }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if bytes.count > index + 2, bytes[index + 1] == c, bytes[index + 2] == c {
                return .string(try multiLineString(literal: true))
            }
            return .string(try literalString())
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): return try inlineTable()
        default:
            let start = index
            while let b = current, !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: ",")
                                     || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == UInt8(ascii: "#")) {
                index += 1
            }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            return try scalar(word)
        }
    }

    private func scalar(_ word: String) throws(TOMLError) -> TOMLValue {
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        if word.isEmpty { throw error("expected a value") }
        if word.contains("_") {
            // Underscores must sit between digits.
            let chars = Array(word)
            for (i, ch) in chars.enumerated() where ch == "_" {
                guard i > 0, i < chars.count - 1, chars[i - 1].isHexDigit, chars[i + 1].isHexDigit else {
                    throw error("misplaced '_' in number \(word)")
                }
            }
        }
        let clean = word.replacingOccurrences(of: "_", with: "")
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where clean.hasPrefix(prefix) {
            guard let v = Int64(clean.dropFirst(2), radix: radix) else { throw error("invalid integer \(word)") }
            return .integer(v)
        }
        if let v = Int64(clean) {
            let digits = clean.hasPrefix("+") || clean.hasPrefix("-") ? String(clean.dropFirst()) : clean
            if digits.count > 1 && digits.hasPrefix("0") { throw error("leading zeros are not allowed in \(word)") }
            return .integer(v)
        }
        if clean.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) || ["inf", "+inf", "-inf", "nan", "+nan", "-nan"].contains(clean),
           let v = Double(clean) {
            return .float(v)
        }
        if word.count >= 10, word.dropFirst(4).first == "-" { throw error("dates and times are not supported (\(word))") }
        throw error("invalid value \(word) (strings must be quoted)")
    }

    private mutating func array() throws(TOMLError) -> TOMLValue {
        index += 1  // [
        let startLine = line
        var items: [TOMLValue] = []
        while true {
            skipBlank()
            guard let c = current else { throw TOMLError(line: startLine, message: "unterminated array (no ']')") }
            if c == UInt8(ascii: "]") { index += 1; return .array(items) }
            items.append(try value())
            skipBlank()
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw TOMLError(line: startLine, message: "expected ',' or ']' in the array that starts here"
                            + (line != startLine ? " (found \(current.map(describe) ?? "end of file") on line \(line))" : ""))
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        index += 1  // {
        var table: [String: TOMLValue] = [:]
        skipSpaces()
        if current == UInt8(ascii: "}") { index += 1; return .table(table) }
        while true {
            let path = try key()
            skipSpaces()
            guard current == UInt8(ascii: "=") else { throw error("expected '=' in inline table") }
            index += 1
            skipSpaces()
            try insert(&table, path: path, value: try value())
            skipSpaces()
            if current == UInt8(ascii: ",") { index += 1; skipSpaces(); continue }
            if current == UInt8(ascii: "}") { index += 1; return .table(table) }
            throw error("expected ',' or '}' in inline table")
        }
    }

    private mutating func literalString() throws(TOMLError) -> String {
        index += 1
        let start = index
        while let c = current, c != UInt8(ascii: "'") {
            if c == 0x0A { throw error("unterminated string") }
            index += 1
        }
        guard current != nil else { throw error("unterminated string") }
        let s = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return s
    }

    private mutating func basicString() throws(TOMLError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let c = current, c != 0x0A else { throw error("unterminated string") }
            index += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            try escape(into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes the escape after a backslash (the backslash already consumed).
    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        guard let e = current else { throw error("unterminated string") }
        index += 1
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else { throw error("invalid unicode escape") }
            index += count
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: throw error("invalid escape \\\(Character(Unicode.Scalar(e)))")
        }
    }

    /// `"""…"""` (escapes, a backslash at a line's end joins it to the next non-blank text) or
    /// `'''…'''` (verbatim). A newline right after the opening delimiter is dropped, as
    /// TOML says, so a program can start on its own line.
    private mutating func multiLineString(literal: Bool) throws(TOMLError) -> String {
        let quote = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        let opened = line
        index += 3
        if current == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
        if current == 0x0A { index += 1; line += 1 }
        var out: [UInt8] = []
        while true {
            guard let c = current else {
                throw TOMLError(line: opened, message: "unterminated multi-line string")
            }
            if c == quote, bytes.count > index + 2,
               bytes[index + 1] == quote, bytes[index + 2] == quote {
                // Up to two quotes right before the closing delimiter belong to the string.
                var run = 3
                while run < 5, index + run < bytes.count, bytes[index + run] == quote { run += 1 }
                out.append(contentsOf: [UInt8](repeating: quote, count: run - 3))
                index += run
                return String(decoding: out, as: UTF8.self)
            }
            index += 1
            if c == 0x0A { line += 1 }
            if literal || c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            // A line-ending backslash: skip the newline and the white space that follows.
            var probe = index
            while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x09 { probe += 1 }
            if probe < bytes.count, bytes[probe] == 0x0A || bytes[probe] == 0x0D {
                index = probe
                while let w = current, w == 0x20 || w == 0x09 || w == 0x0A || w == 0x0D {
                    if w == 0x0A { line += 1 }
                    index += 1
                }
                continue
            }
            try escape(into: &out)
        }
    }
}

import Foundation
