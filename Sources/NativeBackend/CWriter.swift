/// Accumulates C source lines with indentation, so generated code reads like hand-written C
/// in `kenc show`.
struct CWriter {
    private(set) var lines: [String] = []
    private var depth = 0

    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// `header {`, the body one level deeper, then `}` (plus `trailer`, e.g. `;`).
    mutating func block(_ header: String, trailer: String = "", _ body: (inout CWriter) -> Void) {
        line(header + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}" + trailer)
    }

    /// Replaces the last line (keeping its indentation), e.g. to close a block as `} name;`.
    mutating func replaceLast(_ text: String) {
        guard let last = lines.popLast() else { return }
        lines.append(String(last.prefix { $0 == " " }) + text)
    }

    mutating func indent() { depth += 1 }
    mutating func dedent() { depth = max(0, depth - 1) }

    mutating func append(_ other: CWriter) {
        for l in other.lines { lines.append(l.isEmpty ? l : String(repeating: "    ", count: depth) + l) }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

/// C literal spellings.
enum CLiteral {
    /// A C string literal with every byte outside printable ASCII escaped.
    static func string(_ s: String) -> String {
        var out = "\""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20...0x7e: out.append(Character(Unicode.Scalar(byte)))
            default: out += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return out + "\""
    }

    /// A C identifier made of `text`'s letters and digits (others become `_`).
    static func identifier(_ text: String, limit: Int = 64) -> String {
        let mapped = text.unicodeScalars.map { scalar -> Character in
            let v = scalar.value
            let ok = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 95
            return ok ? Character(scalar) : "_"
        }
        return String(String(mapped).prefix(limit))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

