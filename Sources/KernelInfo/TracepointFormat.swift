/// One field of a tracepoint's `format` file.
public struct TracepointField: Sendable, Hashable {
    public var name: String
    /// The C type as written in the format file, without the name, e.g. `const char *`,
    /// `char[16]`, `__data_loc char[]`.
    public var typeText: String
    /// The type Ken gives the field (see `TracepointFormatParser` for the widening rule).
    public var type: CType
    public var offset: Int
    public var size: Int
    public var isSigned: Bool
    /// Element count of a fixed-size array field, e.g. 16 for `char prev_comm[16]`.
    public var arrayCount: Int?
    /// `__data_loc` fields: the 32-bit slot holds offset (low 16 bits) and length (high 16)
    /// of data stored after the fixed fields (dynamic strings and arrays).
    public var isDynamicArray: Bool
    /// The field holds a pointer into user memory (must be read with user-space helpers:
    /// `str()`/`buf()` on it read user memory). See `TracepointFormatParser.isUserPointer`.
    public var isUserPointer: Bool
    /// `common_*` fields shared by every event; bpftrace hides them from `args`.
    public var isCommon: Bool

    public init(name: String, typeText: String, type: CType, offset: Int, size: Int, isSigned: Bool,
                arrayCount: Int?, isDynamicArray: Bool, isUserPointer: Bool, isCommon: Bool) {
        self.name = name
        self.typeText = typeText
        self.type = type
        self.offset = offset
        self.size = size
        self.isSigned = isSigned
        self.arrayCount = arrayCount
        self.isDynamicArray = isDynamicArray
        self.isUserPointer = isUserPointer
        self.isCommon = isCommon
    }

    /// Whether bpftrace presents the field as a string (`char[N]` or `__data_loc char[]`).
    public var isString: Bool {
        if isDynamicArray, case let .array(element, _) = type { return element.isCharacter }
        if case let .array(element, _) = type.resolved { return element.isCharacter }
        return false
    }
}

/// A parsed `events/<category>/<name>/format` file.
public struct TracepointFormat: Sendable, Hashable {
    public var category: String
    public var name: String
    /// The event id (`ID:` line), used by perf_event_open.
    public var id: Int?
    /// The event's own fields, in order (what `args` exposes).
    public var fields: [TracepointField]
    /// The `common_*` header fields.
    public var commonFields: [TracepointField]

    public func field(named name: String) -> TracepointField? {
        fields.first { $0.name == name }
    }
}
