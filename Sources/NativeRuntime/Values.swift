import Foundation
import NativeABI

/// A value read from an event record or a map key/value, ready to print.
enum PrintedValue: Sendable, Equatable {
    case signed(Int64)
    case unsigned(UInt64)
    /// A string (script strings, comm) or a value the runtime turned into text (stacks, symbols,
    /// user names, addresses).
    case text(String)
    case tuple([PrintedValue])
    /// `kstack`: its frames symbolized (`sym+off`), innermost first. bpftrace 0.17 indents them
    /// by 8 spaces in printf and print() but by 4 inside a map key, and prints an empty stack
    /// (a sample taken in user mode) as "" — not as a lone newline.
    case stack([String])

    /// As bpftrace writes it for printf's `%s` and `join`.
    var keyText: String {
        switch self {
        case let .signed(v): return String(v)
        case let .unsigned(v): return String(v)
        case let .text(t): return t
        case let .tuple(items): return "(" + items.map(\.keyText).joined(separator: ", ") + ")"
        case let .stack(frames): return Self.stackText(frames, indent: 8)
        }
    }

    /// As bpftrace writes it inside a map key (`@m[1,abc]`): stacks indented by 4.
    var mapKeyText: String {
        switch self {
        case let .tuple(items): return "(" + items.map(\.mapKeyText).joined(separator: ", ") + ")"
        case let .stack(frames): return Self.stackText(frames, indent: 4)
        default: return keyText
        }
    }

    static func stackText(_ frames: [String], indent: Int) -> String {
        guard !frames.isEmpty else { return "" }
        let padding = String(repeating: " ", count: indent)
        return "\n" + frames.map { padding + $0 + "\n" }.joined()
    }

    /// As bpftrace writes it as a JSON value: numbers bare, text quoted, tuples as arrays
    /// without spaces (`[1,"x"]`).
    var json: String {
        switch self {
        case let .signed(v): return String(v)
        case let .unsigned(v): return String(v)
        case let .text(t): return JSONText.quote(t)
        case let .tuple(items): return "[" + items.map(\.json).joined(separator: ",") + "]"
        case .stack: return JSONText.quote(keyText)
        }
    }

    /// The number, for sorting and arithmetic (nil for text).
    var integer: Int64? {
        switch self {
        case let .signed(v): return v
        case let .unsigned(v): return Int64(bitPattern: v)
        default: return nil
        }
    }
}

/// Reads little-endian values out of raw bytes at the plan's offsets. Reads past the end give
/// zero bytes: a record shorter than its plan says prints zeros instead of crashing the agent.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    func byte(_ offset: Int) -> UInt8 {
        offset >= 0 && offset < bytes.count ? bytes[offset] : 0
    }

    func unsigned(_ offset: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<min(size, 8) { value |= UInt64(byte(offset + i)) << (8 * UInt64(i)) }
        return value
    }

    func signed(_ offset: Int, size: Int) -> Int64 {
        let raw = unsigned(offset, size: size)
        guard size < 8, size > 0 else { return Int64(bitPattern: raw) }
        let shift = UInt64(64 - 8 * size)
        return Int64(bitPattern: raw << shift) >> Int64(shift)
    }

    func u64(_ offset: Int) -> UInt64 { unsigned(offset, size: 8) }
    func s64(_ offset: Int) -> Int64 { Int64(bitPattern: unsigned(offset, size: 8)) }

    /// A NUL-terminated string of at most `size` bytes.
    func string(_ offset: Int, size: Int) -> String {
        var raw: [UInt8] = []
        for i in 0..<max(size, 0) {
            let b = byte(offset + i)
            if b == 0 { break }
            raw.append(b)
        }
        return String(decoding: raw, as: UTF8.self)
    }

    func value(_ type: NativeType, at offset: Int, symbols: Symbolizer) -> PrintedValue {
        switch type {
        case let .integer(bits, signed):
            let size = max(1, bits / 8)
            return signed ? .signed(self.signed(offset, size: size)) : .unsigned(unsigned(offset, size: size))
        case .boolean:
            return .unsigned(byte(offset) == 0 ? 0 : 1)
        case let .string(size):
            return .text(string(offset, size: size))
        case let .kernelStack(depth):
            let frames = (0..<depth).map { u64(offset + 8 * $0) }.filter { $0 != 0 }
            return .stack(frames.map(symbols.symbolWithOffset))
        case .kernelSymbol:
            return .text(symbols.kernelSymbol(u64(offset)))
        case .username:
            return .text(symbols.userName(UInt32(truncatingIfNeeded: u64(offset))))
        case .inet:
            return .text(Symbolizer.inet(family: u64(offset), address: (0..<16).map { byte(offset + 8 + $0) }))
        case let .tuple(fields):
            return .tuple(fields.map { value($0.type, at: offset + $0.offset, symbols: symbols) })
        }
    }
}

/// JSON text the way bpftrace writes it.
enum JSONText {
    /// A quoted JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, `\r`,
    /// `\b`, `\f` or `\u00XX`.
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `{"type": "<type>", "data": <data>}`: one output line.
    static func line(type: String, data: String) -> String {
        "{\"type\": \(quote(type)), \"data\": \(data)}"
    }
}
