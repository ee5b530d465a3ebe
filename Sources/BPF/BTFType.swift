/// Value types describing BTF (BPF Type Format) entries. They mirror the binary layout that
/// the kernel documents in `Documentation/bpf/btf.rst`, but hold only Swift values: type
/// references are ids into the `BTF` they came from, never pointers, so a `BTFType` can be
/// stored, compared and sent across tasks after the `BTF` is gone.

/// A type id inside one BTF blob. Id 0 is `void`.
public typealias BTFTypeID = UInt32

/// The kind numbers of `BTF_KIND_*` (btf.rst, "Type Encoding").
public enum BTFKind: UInt16, Sendable, Hashable, CaseIterable {
    case void = 0, int, pointer, array, structure, union, enumeration, forward, typedef
    case volatile, const, restrict, function, functionProto, variable, dataSection, float
    case declTag, typeTag, enum64
}

/// `BTF_INT_ENCODING` bits of an INT type.
public struct BTFIntEncoding: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let signed = BTFIntEncoding(rawValue: 1 << 0)
    public static let char = BTFIntEncoding(rawValue: 1 << 1)
    public static let bool = BTFIntEncoding(rawValue: 1 << 2)
}

/// One struct/union member. `bitOffset` is from the start of the record; `bitfieldSize` is 0
/// for ordinary members.
public struct BTFMember: Sendable, Hashable {
    /// Empty for anonymous struct/union members (their fields are reachable through them).
    public var name: String
    public var type: BTFTypeID
    public var bitOffset: UInt32
    public var bitfieldSize: UInt32

    public init(name: String, type: BTFTypeID, bitOffset: UInt32, bitfieldSize: UInt32) {
        self.name = name
        self.type = type
        self.bitOffset = bitOffset
        self.bitfieldSize = bitfieldSize
    }
}

/// One parameter of a FUNC_PROTO. A trailing parameter with type 0 and no name marks `...`.
public struct BTFParam: Sendable, Hashable {
    public var name: String
    public var type: BTFTypeID

    public init(name: String, type: BTFTypeID) {
        self.name = name
        self.type = type
    }
}

/// One enumerator; `value` is the raw 64-bit pattern (sign-extended for signed 32-bit enums).
public struct BTFEnumValue: Sendable, Hashable {
    public var name: String
    public var value: Int64

    public init(name: String, value: Int64) {
        self.name = name
        self.value = value
    }
}

/// A struct or union body.
public struct BTFRecord: Sendable, Hashable {
    public var name: String
    public var size: Int
    public var members: [BTFMember]
    public var isUnion: Bool
}

/// An enum (ENUM or ENUM64).
public struct BTFEnum: Sendable, Hashable {
    public var name: String
    public var size: Int
    public var isSigned: Bool
    public var is64: Bool
    public var values: [BTFEnumValue]
}

/// Linkage of FUNC (static/global/extern) and VAR entries.
public enum BTFLinkage: UInt16, Sendable, Hashable {
    case `static` = 0, global = 1, external = 2
    case unknown = 0xFFFF
}

/// One variable inside a DATASEC.
public struct BTFVarSecInfo: Sendable, Hashable {
    public var type: BTFTypeID
    public var offset: UInt32
    public var size: UInt32
}

/// A decoded BTF entry.
public enum BTFType: Sendable, Hashable {
    case void
    /// `bits` is the value width (`BTF_INT_BITS`), `size` the storage in bytes.
    case int(name: String, size: Int, bits: Int, bitOffset: Int, encoding: BTFIntEncoding)
    case pointer(to: BTFTypeID)
    case array(element: BTFTypeID, index: BTFTypeID, count: Int)
    case record(BTFRecord)
    case enumeration(BTFEnum)
    case forward(name: String, isUnion: Bool)
    case typedef(name: String, type: BTFTypeID)
    case volatile(BTFTypeID)
    case const(BTFTypeID)
    case restrict(BTFTypeID)
    case function(name: String, proto: BTFTypeID, linkage: BTFLinkage)
    case functionProto(returnType: BTFTypeID, params: [BTFParam])
    case variable(name: String, type: BTFTypeID, linkage: BTFLinkage)
    case dataSection(name: String, size: Int, variables: [BTFVarSecInfo])
    case float(name: String, size: Int)
    /// `componentIndex` is -1 when the tag applies to the whole declaration.
    case declTag(name: String, type: BTFTypeID, componentIndex: Int)
    case typeTag(name: String, type: BTFTypeID)

    public var kind: BTFKind {
        switch self {
        case .void: return .void
        case .int: return .int
        case .pointer: return .pointer
        case .array: return .array
        case let .record(r): return r.isUnion ? .union : .structure
        case let .enumeration(e): return e.is64 ? .enum64 : .enumeration
        case .forward: return .forward
        case .typedef: return .typedef
        case .volatile: return .volatile
        case .const: return .const
        case .restrict: return .restrict
        case .function: return .function
        case .functionProto: return .functionProto
        case .variable: return .variable
        case .dataSection: return .dataSection
        case .float: return .float
        case .declTag: return .declTag
        case .typeTag: return .typeTag
        }
    }

    /// The entry's own name; empty for anonymous and nameless kinds.
    public var name: String {
        switch self {
        case let .int(name, _, _, _, _): return name
        case let .record(r): return r.name
        case let .enumeration(e): return e.name
        case let .forward(name, _), let .typedef(name, _), let .function(name, _, _),
             let .variable(name, _, _), let .dataSection(name, _, _), let .float(name, _),
             let .declTag(name, _, _), let .typeTag(name, _):
            return name
        default: return ""
        }
    }

    /// For modifiers (const/volatile/restrict/type tag) and typedefs, the type they wrap.
    public var wrappedType: BTFTypeID? {
        switch self {
        case let .typedef(_, t), let .volatile(t), let .const(t), let .restrict(t), let .typeTag(_, t):
            return t
        default:
            return nil
        }
    }
}
