/// Integer literal rules (bpftrace docs, "Literals"): decimal with `_` separators, octal with
/// a leading `0`, hex with `0x`, scientific `2e3`, C suffixes (`u`, `l`, `ul`, `ll`, `ull`, …)
/// that do not change the value, and duration suffixes (`ns us ms s m h d`, 0.24+) that
/// scale to nanoseconds.
enum IntegerLiteralParser {
    enum Outcome: Equatable {
        case success(value: UInt64, durationSuffix: String?)
        case failure(String)
    }

    static let durationScale: [String: UInt64] = [
        "ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
        "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000,
    ]

    static func parse<C: Collection>(_ text: C) -> Outcome where C.Element == UInt8 {
        let bytes = Array(text)
        let literal = String(decoding: bytes, as: UTF8.self)
        guard let first = bytes.first, ByteClass.isDigit(first) else {
            return .failure("invalid integer literal '\(literal)'")
        }
        var i = 0
        var value: UInt64 = 0
        var overflow = false
        func accumulate(_ digit: UInt64, base: UInt64) {
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (a, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { overflow = true }
            value = a
        }
        if bytes.count > 2, first == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "x") || bytes[1] == UInt8(ascii: "X") {
            i = 2
            var digits = 0
            while i < bytes.count, ByteClass.isHexDigit(bytes[i]) {
                let b = bytes[i]
                let d: UInt8 = ByteClass.isDigit(b) ? b - 0x30 : (b >= 0x61 ? b - 0x61 + 10 : b - 0x41 + 10)
                accumulate(UInt64(d), base: 16)
                i += 1
                digits += 1
            }
            if digits == 0 { return .failure("invalid hexadecimal literal '\(literal)'") }
            guard isIntegerSuffix(bytes[i...]) else {
                return .failure("invalid suffix on integer literal '\(literal)'")
            }
            return overflow ? .failure("integer literal '\(literal)' does not fit in 64 bits")
                : .success(value: value, durationSuffix: nil)
        }
        let octal = first == UInt8(ascii: "0") && bytes.count > 1 && ByteClass.isDigit(bytes[1])
        var lastWasDigit = false
        while i < bytes.count, ByteClass.isDigit(bytes[i]) || bytes[i] == UInt8(ascii: "_") {
            if bytes[i] == UInt8(ascii: "_") {
                lastWasDigit = false
            } else {
                let d = UInt64(bytes[i] - 0x30)
                if octal && d > 7 { return .failure("invalid digit '\(d)' in octal literal '\(literal)'") }
                accumulate(d, base: octal ? 8 : 10)
                lastWasDigit = true
            }
            i += 1
        }
        if !lastWasDigit { return .failure("integer literal '\(literal)' must not end with '_'") }
        // Scientific notation: <m>e<n>.
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E"),
           i + 1 < bytes.count, ByteClass.isDigit(bytes[i + 1]) {
            i += 1
            var exponent = 0
            while i < bytes.count, ByteClass.isDigit(bytes[i]) {
                exponent = min(exponent * 10 + Int(bytes[i] - 0x30), 100)
                i += 1
            }
            for _ in 0..<exponent { accumulate(0, base: 10) }
        }
        let suffix = bytes[i...]
        if suffix.isEmpty || isIntegerSuffix(suffix) {
            return overflow ? .failure("integer literal '\(literal)' does not fit in 64 bits")
                : .success(value: value, durationSuffix: nil)
        }
        let suffixText = String(decoding: suffix, as: UTF8.self)
        if let scale = durationScale[suffixText] {
            let (scaled, o) = value.multipliedReportingOverflow(by: scale)
            if overflow || o { return .failure("duration literal '\(literal)' does not fit in 64 bits") }
            return .success(value: scaled, durationSuffix: suffixText)
        }
        return .failure("invalid suffix '\(suffixText)' on integer literal '\(literal)'")
    }

    /// C integer suffixes: optional `u`, up to two `l` (same case), either order.
    static func isIntegerSuffix(_ s: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: s, as: UTF8.self).lowercased()
        switch text {
        case "", "u", "l", "ul", "lu", "ll", "ull", "llu": return true
        default: return false
        }
    }
}
