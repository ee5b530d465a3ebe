/// A C type as the kernel describes it, from either a tracepoint `format` file or BTF.
///
/// Both sources are folded into one model so the resolver types `args.field` and
/// `((struct sock *)x)->member` the same way. Typedef names are kept (`__be16`, `pid_t`)
/// because later passes care about them (byte order, user/kernel meaning); records are kept
/// by reference (name and BTF id) so self-referential structs stay finite.
public indirect enum CType: Sendable, Hashable, CustomStringConvertible {
    case void
    case integer(CInteger)
    case float(bits: Int)
    case pointer(CType)
    /// `count` is 0 for flexible/unknown-length arrays.
    case array(CType, count: Int)
    case record(CRecordRef)
    case enumeration(name: String, bits: Int, signed: Bool)
    /// A typedef, keeping its name and what it stands for.
    case typedef(name: String, CType)
    case function(returnType: CType, params: [CType])
    /// A type named in C text that neither BTF nor the built-in names explain.
    case unknown(String)

    /// Strips typedefs (not pointers): what a value of this type really is.
    public var resolved: CType {
        var t = self
        while case let .typedef(_, inner) = t { t = inner }
        return t
    }

    /// The outermost typedef name, e.g. `__be16`; nil when the type is not a typedef.
    public var typedefName: String? {
        if case let .typedef(name, _) = self { return name }
        return nil
    }

    public var isPointer: Bool {
        if case .pointer = resolved { return true }
        return false
    }

    /// Whether this is `char`-like (8-bit integer spelled with `char`), so arrays of it are
    /// strings and pointers to it are C strings.
    public var isCharacter: Bool {
        if case let .integer(i) = resolved { return i.bits == 8 && i.name.contains("char") }
        return false
    }

    /// Size in bytes when known from the model alone (records need BTF: nil here).
    public var byteSize: Int? {
        switch self {
        case .void: return 1
        case let .integer(i): return max(1, i.bits / 8)
        case let .float(bits): return bits / 8
        case .pointer: return 8
        case let .array(element, count): return element.byteSize.map { $0 * count }
        case let .record(r): return r.size
        case let .enumeration(_, bits, _): return bits / 8
        case let .typedef(_, inner): return inner.byteSize
        case .function, .unknown: return nil
        }
    }

    /// C spelling, e.g. `const`-free `struct sock *`, `char[16]`, `__be16`.
    public var description: String {
        switch self {
        case .void: return "void"
        case let .integer(i): return i.name
        case let .float(bits): return bits == 32 ? "float" : bits == 64 ? "double" : "float\(bits)"
        case let .pointer(inner):
            let s = inner.description
            return s.hasSuffix("*") ? s + "*" : s + " *"
        case let .array(element, count): return "\(element)[\(count == 0 ? "" : String(count))]"
        case let .record(r): return r.spelling
        case let .enumeration(name, _, _): return "enum " + (name.isEmpty ? "(anon)" : name)
        case let .typedef(name, _): return name
        case let .function(ret, params):
            return "\(ret) (\(params.map(\.description).joined(separator: ", ")))"
        case let .unknown(text): return text
        }
    }
}

/// An integer type: its C name (`unsigned int`, `char`, `_Bool`, `u8`'s base …), width and sign.
public struct CInteger: Sendable, Hashable {
    public var name: String
    public var bits: Int
    public var signed: Bool
    public var isBool: Bool

    public init(name: String, bits: Int, signed: Bool, isBool: Bool = false) {
        self.name = name
        self.bits = bits
        self.signed = signed
        self.isBool = isBool
    }
}

/// A struct or union named by reference. Its members come from `KernelBTF.members(of:)`.
public struct CRecordRef: Sendable, Hashable {
    public var isUnion: Bool
    /// Empty for anonymous records.
    public var name: String
    /// The BTF id, when the record came from (or was found in) BTF.
    public var btfID: UInt32?
    /// Size in bytes, when known.
    public var size: Int?

    public init(isUnion: Bool, name: String, btfID: UInt32? = nil, size: Int? = nil) {
        self.isUnion = isUnion
        self.name = name
        self.btfID = btfID
        self.size = size
    }

    /// `struct sock`, `union bpf_attr`, `struct (anon)`.
    public var spelling: String {
        (isUnion ? "union " : "struct ") + (name.isEmpty ? "(anon)" : name)
    }
}

/// One member of a record, with anonymous inner structs/unions already flattened in (C lets
/// `sk->__sk_common.skc_dport` be reached through anonymous unions by member name alone).
public struct CMember: Sendable, Hashable {
    public var name: String
    public var type: CType
    /// Byte offset from the start of the outer record (bit offset / 8 for bitfields).
    public var offset: Int
    /// Bit offset from the start of the outer record.
    public var bitOffset: Int
    /// Nonzero for bitfields.
    public var bitfieldSize: Int

    public init(name: String, type: CType, offset: Int, bitOffset: Int, bitfieldSize: Int) {
        self.name = name
        self.type = type
        self.offset = offset
        self.bitOffset = bitOffset
        self.bitfieldSize = bitfieldSize
    }
}
