import NativeABI

/// The byte layout of a generated C struct (event record, map key, tuple): each part at its
/// natural alignment, in order, the whole padded to 8 bytes — what clang does with the struct
/// the generator writes, so the offsets in the plan are the offsets in the object.
struct RecordLayout: Equatable {
    var fields: [NativeField]
    var kinds: [ValueKind]
    /// Size in bytes, a multiple of 8.
    var size: Int

    init(fields: [NativeField], kinds: [ValueKind], size: Int) {
        self.fields = fields
        self.kinds = kinds
        self.size = size
    }

    /// Lays out `kinds` after `start` bytes (8 for an event's leading `__u64 id`).
    init?(_ kinds: [ValueKind], start: Int = 0) {
        var offset = start
        var fields: [NativeField] = []
        for kind in kinds {
            guard let type = kind.nativeType else { return nil }
            let align = max(1, kind.alignment)
            offset = (offset + align - 1) / align * align
            fields.append(NativeField(offset: offset, type: type))
            offset += type.size
        }
        self.fields = fields
        self.kinds = kinds
        self.size = max(8, (offset + 7) / 8 * 8)
    }

    /// The C struct body: each field `name<i>` at its offset, explicit padding between, so the
    /// layout does not depend on C's rules matching ours. `prefix` lines come first (`__u64 id;`).
    func cMembers(names: [String], start: Int = 0) -> [String] {
        var lines: [String] = []
        var offset = start
        for (i, field) in fields.enumerated() {
            if field.offset > offset {
                lines.append("char __pad\(i)[\(field.offset - offset)];")
            }
            lines.append(Self.cDeclaration(kinds[i], name: names[i]))
            offset = field.offset + field.type.size
        }
        if size > offset { lines.append("char __pad_end[\(size - offset)];") }
        return lines
    }

    /// A struct member declaration for a value of `kind`.
    static func cDeclaration(_ kind: ValueKind, name: String) -> String {
        if let scalar = kind.cScalarType { return "\(scalar) \(name);" }
        return "char \(name)[\(kind.byteSize)];"
    }
}
