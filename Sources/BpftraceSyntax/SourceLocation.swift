/// A position in a source file. Line and column are 1-based (column counts UTF-8 bytes,
/// which is what editors and bpftrace itself report for ASCII programs); `offset` is the
/// 0-based UTF-8 byte offset, kept so tools can slice the original text without re-scanning.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(file: String, line: Int, column: Int, offset: Int) {
        self.file = file
        self.line = line
        self.column = column
        self.offset = offset
    }

    /// Placeholder for synthesized nodes (e.g. produced by lowering) that have no source text.
    public static let unknown = SourceLocation(file: "", line: 0, column: 0, offset: 0)

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        lhs.offset < rhs.offset
    }

    /// `FILE:LINE:COL`, the prefix used by compilers and understood by editors.
    public var description: String { "\(file):\(line):\(column)" }
}

/// A half-open range `[start, end)` of source text.
public struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(start: SourceLocation, end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// Range used for synthesized nodes; see `SourceLocation.unknown`.
    public static let unknown = SourceRange(start: .unknown, end: .unknown)

    /// The smallest range covering both.
    public func union(_ other: SourceRange) -> SourceRange {
        if self == .unknown { return other }
        if other == .unknown { return self }
        return SourceRange(start: min(start, other.start), end: max(end, other.end))
    }

    public var description: String { start.description }
}
