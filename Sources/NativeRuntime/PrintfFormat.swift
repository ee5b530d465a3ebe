/// bpftrace 0.17's `printf`, reproduced: the format is cut into segments, each running up to and
/// including one conversion, and each segment is formatted like C's `snprintf` with its one
/// argument (so `%%` there prints `%`); text after the last conversion is copied unchanged (so
/// `%%` there stays `%%`, as bpftrace 0.17 prints it).
///
/// Conversions read their argument as C would: no length modifier reads an `int` (32 bits),
/// `h` 16, `hh` 8, `l`/`ll`/`z`/`j` 64; `%c` one byte; `%p` an address (`(nil)` for 0).
struct PrintfFormat: Sendable {
    struct Conversion: Sendable {
        var flags: Set<Character> = []
        var width: Int?
        var precision: Int?
        var lengthBits = 32
        var kind: Character = "d"
    }

    enum Piece: Sendable {
        /// Text before a conversion, with `%%` still to be reduced to `%`.
        case segmentText(String)
        case conversion(Conversion)
        /// The tail after the last conversion (or the whole format without conversions).
        case verbatim(String)
    }

    let pieces: [Piece]

    init(_ format: String) {
        var pieces: [Piece] = []
        let chars = Array(format)
        var i = 0
        var text = ""
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else { text.append(c); i += 1; continue }
            if i + 1 < chars.count, chars[i + 1] == "%" { text += "%%"; i += 2; continue }
            // Parse a conversion.
            var j = i + 1
            var conversion = Conversion()
            while j < chars.count, "-+ #0".contains(chars[j]) { conversion.flags.insert(chars[j]); j += 1 }
            var digits = ""
            while j < chars.count, chars[j].isASCII, chars[j].isNumber { digits.append(chars[j]); j += 1 }
            conversion.width = Int(digits)
            if j < chars.count, chars[j] == "." {
                j += 1
                var precision = ""
                while j < chars.count, chars[j].isASCII, chars[j].isNumber { precision.append(chars[j]); j += 1 }
                conversion.precision = Int(precision) ?? 0
            }
            var length = ""
            while j < chars.count, "hlzjt".contains(chars[j]) { length.append(chars[j]); j += 1 }
            switch length {
            case "hh": conversion.lengthBits = 8
            case "h": conversion.lengthBits = 16
            case "": conversion.lengthBits = 32
            default: conversion.lengthBits = 64
            }
            guard j < chars.count else { text += String(chars[i...]); i = chars.count; break }
            conversion.kind = chars[j]
            pieces.append(.segmentText(text))
            pieces.append(.conversion(conversion))
            text = ""
            i = j + 1
        }
        pieces.append(.verbatim(text))
        self.pieces = pieces
    }

    /// The formatted text for these arguments (missing arguments print as 0 / empty).
    func format(_ arguments: [PrintedValue]) -> String {
        var out = ""
        var next = 0
        for piece in pieces {
            switch piece {
            case let .segmentText(text): out += text.replacingOccurrences(of: "%%", with: "%")
            case let .verbatim(text): out += text
            case let .conversion(conversion):
                let argument = next < arguments.count ? arguments[next] : .unsigned(0)
                next += 1
                out += Self.convert(conversion, argument)
            }
        }
        return out
    }

    static func convert(_ c: Conversion, _ argument: PrintedValue) -> String {
        let raw = UInt64(bitPattern: argument.integer ?? 0)
        let mask: UInt64 = c.lengthBits >= 64 ? .max : (1 << UInt64(c.lengthBits)) - 1
        let truncated = raw & mask
        let signedValue: Int64 = {
            guard c.lengthBits < 64 else { return Int64(bitPattern: truncated) }
            let shift = UInt64(64 - c.lengthBits)
            return Int64(bitPattern: truncated << shift) >> Int64(shift)
        }()
        var body: String
        var sign = ""
        var prefix = ""
        var numeric = true
        switch c.kind {
        case "d", "i":
            if signedValue < 0 { sign = "-" } else if c.flags.contains("+") { sign = "+" } else if c.flags.contains(" ") { sign = " " }
            body = String(signedValue.magnitude)
        case "u": body = String(truncated)
        case "x": body = String(truncated, radix: 16); if c.flags.contains("#"), truncated != 0 { prefix = "0x" }
        case "X": body = String(truncated, radix: 16).uppercased(); if c.flags.contains("#"), truncated != 0 { prefix = "0X" }
        case "o": body = String(truncated, radix: 8)
        case "p":
            if raw == 0 { body = "(nil)"; numeric = false } else { body = String(raw, radix: 16); prefix = "0x" }
        case "c":
            numeric = false
            body = String(decoding: [UInt8(truncatingIfNeeded: raw)], as: UTF8.self)
        case "s":
            numeric = false
            body = argument.keyText
            // C counts bytes: precision cuts bytes (never inside a character), width pads bytes.
            if let precision = c.precision {
                var cut = ""
                for character in body where cut.utf8.count + character.utf8.count <= precision { cut.append(character) }
                body = cut
            }
        default:
            numeric = false
            body = argument.keyText
        }
        if numeric, let precision = c.precision {
            if precision == 0, body == "0" { body = "" }
            if body.count < precision { body = String(repeating: "0", count: precision - body.count) + body }
        }
        var text = sign + prefix + body
        let width = c.width ?? 0
        if text.utf8.count < width {
            let padding = width - text.utf8.count
            if c.flags.contains("-") {
                text += String(repeating: " ", count: padding)
            } else if numeric, c.flags.contains("0"), c.precision == nil {
                text = sign + prefix + String(repeating: "0", count: padding) + body
            } else {
                text = String(repeating: " ", count: padding) + text
            }
        }
        return text
    }
}
