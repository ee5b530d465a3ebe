/// The source as UTF-8 bytes plus a line table, so byte offsets convert to line/column in
/// O(log lines) and no pass ever walks `String.Index`.
struct SourceText: Sendable {
    let file: String
    let bytes: [UInt8]
    /// Byte offset at which each line starts; `lineStarts[0] == 0`.
    let lineStarts: [Int]

    init(_ text: String, file: String) {
        self.file = file
        let bytes = Array(text.utf8)
        self.bytes = bytes
        var starts = [0]
        starts.reserveCapacity(bytes.count / 24 + 1)
        for (i, b) in bytes.enumerated() where b == 0x0A {
            starts.append(i + 1)
        }
        self.lineStarts = starts
    }

    func location(_ offset: Int) -> SourceLocation {
        let offset = max(0, min(offset, bytes.count))
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(file: file, line: lo + 1, column: offset - lineStarts[lo] + 1, offset: offset)
    }

    /// Like `location(_:)`, but first tries the line of the previous lookup (`hint`): the
    /// parser asks mostly about nearby offsets, so this avoids the binary search.
    func location(_ offset: Int, hint: inout Int) -> SourceLocation {
        let offset = max(0, min(offset, bytes.count))
        var line = min(max(0, hint), lineStarts.count - 1)
        if lineStarts[line] <= offset {
            while line + 1 < lineStarts.count, lineStarts[line + 1] <= offset, line - hint < 4 { line += 1 }
            if line + 1 < lineStarts.count, lineStarts[line + 1] <= offset {
                return location(offset, updating: &hint)
            }
        } else {
            return location(offset, updating: &hint)
        }
        hint = line
        return SourceLocation(file: file, line: line + 1, column: offset - lineStarts[line] + 1, offset: offset)
    }

    private func location(_ offset: Int, updating hint: inout Int) -> SourceLocation {
        let l = location(offset)
        hint = l.line - 1
        return l
    }

    func range(_ start: Int, _ end: Int, hint: inout Int) -> SourceRange {
        let s = location(start, hint: &hint)
        let e = location(max(start, end), hint: &hint)
        return SourceRange(start: s, end: e)
    }

    func range(_ start: Int, _ end: Int) -> SourceRange {
        SourceRange(start: location(start), end: location(max(start, end)))
    }

    func text(_ start: Int, _ end: Int) -> String {
        let s = max(0, min(start, bytes.count))
        let e = max(s, min(end, bytes.count))
        return String(decoding: bytes[s..<e], as: UTF8.self)
    }
}

enum ByteClass {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }
    @inline(__always) static func isIdentStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F
    }
    @inline(__always) static func isIdentContinue(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }
}
