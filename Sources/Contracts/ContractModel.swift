/// The contract model: what Ken knows about the values a probe sees, derived mechanically from
/// the running kernel (tracefs `format` files, BTF) plus a few documented kernel conventions.
///
/// Everything is a plain Codable value so a contract can be stored as JSON in the per-release
/// SQLite file, printed by `kenc contracts --json`, and embedded in an LLM prompt unchanged.

/// Where a pointer points. Decides whether bpftrace must read it with user-memory helpers.
public enum AddressSpace: String, Codable, Sendable, Hashable {
    case kernel
    /// A `__user` address: only `str()`/`buf()` (which use the user-memory probe-read helpers)
    /// may read through it; dereferencing it reads kernel memory at a user address.
    case user
    /// The kernel's BTF does not say (no `user` type tag) and no convention decides.
    case unknown
}

/// Whether a pointer may be NULL. Ken only claims `nonNull` with evidence (see
/// `ContractRules.nullability`); without it a pointer is `mayBeNull`.
public enum Nullability: String, Codable, Sendable, Hashable {
    case nonNull
    case mayBeNull
}

/// Byte order of an integer's storage. `__be16` etc. hold network (big-endian) values: printing or
/// comparing them as numbers on a little-endian host without a swap gives the wrong number.
public enum ByteOrder: String, Codable, Sendable, Hashable {
    case host
    case bigEndian
    case littleEndian
}

/// What shape a value has, coarsely, for prompts and checks.
public enum ValueKind: String, Codable, Sendable, Hashable {
    case integer, boolean, enumeration, float, pointer, array, string, record, function, void, unknown
}

/// An inclusive integer range. Bounds are Int64: every range Ken states explicitly (errno, pid,
/// uid, enumerators) fits; the full range of a plain integer type is implied by `bits`/`signed`.
public struct ValueRange: Codable, Sendable, Hashable, CustomStringConvertible {
    public var min: Int64
    public var max: Int64

    public init(min: Int64, max: Int64) {
        self.min = min
        self.max = max
    }

    public var description: String { "\(min)...\(max)" }
}

/// The contract of one value: a tracepoint field, a function parameter or return value, or a
/// struct member.
public struct ValueContract: Codable, Sendable, Hashable {
    /// Field, parameter or member name; empty for a return value or an unnamed parameter.
    public var name: String
    /// C spelling, typedef names kept: `__be16`, `const char *`, `struct sock *`, `char[16]`.
    public var cType: String
    /// Every typedef name met while resolving the type, outermost first (`__be16`, `__u16`).
    public var typedefs: [String]
    public var kind: ValueKind
    /// Integer/enum width in bits and signedness (as bpftrace reads the value).
    public var bits: Int?
    public var signed: Bool?
    /// For pointers: the pointee's C spelling, its address space and nullability.
    public var pointee: String?
    public var addressSpace: AddressSpace?
    public var nullability: Nullability?
    /// For fixed arrays: element count (0 for flexible) and element C spelling.
    public var arrayCount: Int?
    public var element: String?
    /// A tracepoint `__data_loc` field (dynamic array/string stored after the fixed fields).
    public var isDataLoc: Bool
    public var byteOrder: ByteOrder
    /// The struct/union this value is, or points to (`struct sock`), for member lookups.
    public var record: String?
    /// For enum-typed values: the enum's name and the range of its enumerators.
    public var enumName: String?
    /// A range stated by the contract (enumerators, `bool`), beyond what the type implies.
    public var range: ValueRange?
    /// Tracepoint fields: offset and size in the record. Members: byte offset in the record.
    public var offset: Int?
    public var size: Int?
    /// Why the address space / range was decided as it was, for people and LLM prompts.
    public var rationale: String?

    public init(name: String, cType: String, typedefs: [String] = [], kind: ValueKind, bits: Int? = nil,
                signed: Bool? = nil, pointee: String? = nil, addressSpace: AddressSpace? = nil,
                nullability: Nullability? = nil, arrayCount: Int? = nil, element: String? = nil,
                isDataLoc: Bool = false, byteOrder: ByteOrder = .host, record: String? = nil,
                enumName: String? = nil, range: ValueRange? = nil, offset: Int? = nil, size: Int? = nil,
                rationale: String? = nil) {
        self.name = name
        self.cType = cType
        self.typedefs = typedefs
        self.kind = kind
        self.bits = bits
        self.signed = signed
        self.pointee = pointee
        self.addressSpace = addressSpace
        self.nullability = nullability
        self.arrayCount = arrayCount
        self.element = element
        self.isDataLoc = isDataLoc
        self.byteOrder = byteOrder
        self.record = record
        self.enumName = enumName
        self.range = range
        self.offset = offset
        self.size = size
        self.rationale = rationale
    }

    public var isPointer: Bool { kind == .pointer }
    public var isUserPointer: Bool { kind == .pointer && addressSpace == .user }
}

/// A fact about a probe's values that Ken may `assume`: a kernel convention, an enum range.
public struct ContractFact: Codable, Sendable, Hashable {
    /// What the fact constrains, independent of how a probe kind spells it (`args.ret`,
    /// `retval`, `args.sk`, `arg0`).
    public enum Subject: Codable, Sendable, Hashable {
        /// A tracepoint field or function parameter (0-based index among the arguments).
        case argument(name: String, index: Int)
        /// A function's return value (`retval` in kretprobe/kretfunc).
        case returnValue
        /// A bpftrace builtin such as `pid` or `uid`.
        case builtin(name: String)
    }

    public enum Source: String, Codable, Sendable, Hashable {
        /// A kernel-wide convention (errno returns, pid/uid limits).
        case convention
        /// The enumerators of the value's enum type.
        case enumeration
        /// The C type (`bool` is 0 or 1).
        case type
    }

    public var subject: Subject
    public var range: ValueRange
    public var source: Source
    public var rationale: String

    public init(subject: Subject, range: ValueRange, source: Source, rationale: String) {
        self.subject = subject
        self.range = range
        self.source = source
        self.rationale = rationale
    }
}

/// Everything Ken knows about one attachable kernel location.
public struct ProbeContract: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// `tracepoint:category:name`.
        case tracepoint
        /// A BTF-described kernel function: kprobe/kretprobe/kfunc/kretfunc targets.
        case function
        /// `rawtracepoint:name` (BTF `btf_trace_<name>`).
        case rawTracepoint
    }

    public var kind: Kind
    /// `syscalls:sys_enter_openat`, `tcp_connect`, `sched_switch`.
    public var name: String
    /// Tracepoint fields (without `common_*`) or function parameters, in order.
    public var arguments: [ValueContract]
    /// Function return value; nil for tracepoints.
    public var returnValue: ValueContract?
    public var isVariadic: Bool
    public var facts: [ContractFact]

    public init(kind: Kind, name: String, arguments: [ValueContract], returnValue: ValueContract? = nil,
                isVariadic: Bool = false, facts: [ContractFact] = []) {
        self.kind = kind
        self.name = name
        self.arguments = arguments
        self.returnValue = returnValue
        self.isVariadic = isVariadic
        self.facts = facts
    }

    /// The store key: `tracepoint:syscalls:sys_enter_openat`, `function:tcp_connect`,
    /// `rawtracepoint:sched_switch`.
    public var key: String { ProbeContract.key(kind: kind, name: name) }

    public static func key(kind: Kind, name: String) -> String {
        switch kind {
        case .tracepoint: return "tracepoint:" + name
        case .function: return "function:" + name
        case .rawTracepoint: return "rawtracepoint:" + name
        }
    }

    public func argument(named name: String) -> ValueContract? {
        arguments.first { $0.name == name }
    }
}

/// The members of a struct/union that matter to contracts: byte-order typed, enum typed,
/// embedded records and pointers to records (so a checker can walk `a->b.c` member by member).
public struct RecordContract: Codable, Sendable, Hashable {
    /// `struct sock`, `union bpf_attr`.
    public var name: String
    public var size: Int?
    public var members: [ValueContract]

    public init(name: String, size: Int?, members: [ValueContract]) {
        self.name = name
        self.size = size
        self.members = members
    }

    public func member(named name: String) -> ValueContract? {
        members.first { $0.name == name }
    }
}
