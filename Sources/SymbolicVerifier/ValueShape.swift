import BpftraceSyntax

/// The verifier's view of a bpftrace type: just what decides the bits and how they are read.
enum ValueShape: Hashable, CustomStringConvertible {
    case integer(bits: Int, signed: Bool)
    /// A NUL-terminated string buffer of `size` bytes.
    case string(size: Int)
    /// A pointer; `pointee` is the record name (`struct sock`) when known.
    case pointer(pointee: String?)
    /// A struct or union living in kernel memory (reached through a pointer).
    case record(name: String?)
    case tuple([ValueShape])

    static let u64 = ValueShape.integer(bits: 64, signed: false)
    static let s64 = ValueShape.integer(bits: 64, signed: true)

    var description: String {
        switch self {
        case let .integer(bits, signed): return (signed ? "int" : "uint") + String(bits)
        case let .string(size): return "string[\(size)]"
        case let .pointer(pointee): return (pointee ?? "void") + " *"
        case let .record(name): return name ?? "record"
        case let .tuple(elements): return "(" + elements.map(\.description).joined(separator: ", ") + ")"
        }
    }

    /// Translates the resolver's type; nil when it has no value shape the verifier models.
    init?(_ type: SemanticType) {
        switch type {
        case let .integer(bits, signed):
            self = .integer(bits: max(1, min(bits, 64)), signed: signed)
        case .boolean:
            self = .integer(bits: 1, signed: false)
        case let .string(size):
            self = .string(size: size ?? Defaults.stringSize)
        case let .pointer(to):
            switch to {
            case let .record(name): self = .pointer(pointee: name)
            default: self = .pointer(pointee: nil)
            }
        case let .record(name):
            self = .record(name: name)
        case .enumeration:
            self = .integer(bits: 64, signed: false)
        case let .tuple(elements):
            let shapes = elements.compactMap(ValueShape.init)
            guard shapes.count == elements.count else { return nil }
            self = .tuple(shapes)
        case let .mapAggregate(kind):
            switch kind {
            case .count, .sum, .min, .max, .avg: self = .integer(bits: 64, signed: kind != .count)
            default: return nil
            }
        case let .array(element, count):
            // bpftrace treats char arrays (e.g. task_struct.comm) as strings.
            guard case let .integer(bits, _) = element, bits == 8, count > 0 else { return nil }
            self = .string(size: count)
        case .buffer, .inet, .stack, .symbol, .username, .timestamp, .cgroupPath, .errorString,
             .none, .unknown:
            return nil
        }
    }
}

/// bpftrace's defaults, used when the resolver left a type slot empty.
enum Defaults {
    /// bpftrace's default `BPFTRACE_STRLEN` / `str()` buffer size.
    static let stringSize = 64
    /// `comm` is the kernel's TASK_COMM_LEN.
    static let commSize = 16

    /// Builtins whose value is fixed during one probe run, with the width of the value the
    /// kernel can produce and the width bpftrace presents it as.
    static func builtin(_ name: String) -> (valueBits: Int, shape: ValueShape)? {
        switch name {
        case "pid", "tid", "uid", "gid", "cpu", "numaid":
            // Kernel ids are 32-bit; bpftrace widens them to 64-bit integers.
            return (32, .u64)
        case "cgroup", "ctx", "curtask", "cpid", "func", "probe", "kstack", "ustack":
            switch name {
            case "curtask": return (64, .pointer(pointee: "struct task_struct"))
            case "func", "probe": return (Defaults.stringSize * 8, .string(size: Defaults.stringSize))
            default: return (64, .u64)
            }
        case "retval":
            return (64, .s64)
        case "comm":
            return (Defaults.commSize * 8, .string(size: Defaults.commSize))
        default:
            if name.hasPrefix("arg"), Int(name.dropFirst(3)) != nil { return (64, .u64) }
            if name.hasPrefix("sarg"), Int(name.dropFirst(4)) != nil { return (64, .s64) }
            return nil
        }
    }

    /// Builtins (and zero-argument calls) that give a new value at every read.
    static let freshEachRead: Set<String> = ["nsecs", "elapsed", "rand", "jiffies", "ktime_get_ns",
                                             "get_ns"]

    /// Integer type names accepted in casts and `let` declarations.
    static func integerType(named name: String) -> ValueShape? {
        switch name {
        case "uint8", "u8", "unsigned char", "bool", "_Bool": return .integer(bits: 8, signed: false)
        case "int8", "s8", "i8", "char", "signed char": return .integer(bits: 8, signed: true)
        case "uint16", "u16", "unsigned short", "__u16", "__be16", "__le16": return .integer(bits: 16, signed: false)
        case "int16", "s16", "i16", "short", "__s16": return .integer(bits: 16, signed: true)
        case "uint32", "u32", "unsigned int", "unsigned", "__u32", "__be32", "__le32", "pid_t_unsigned":
            return .integer(bits: 32, signed: false)
        case "int32", "s32", "i32", "int", "__s32", "pid_t": return .integer(bits: 32, signed: true)
        case "uint64", "u64", "unsigned long", "unsigned long long", "__u64", "__be64", "size_t":
            return .integer(bits: 64, signed: false)
        case "int64", "s64", "i64", "long", "long long", "__s64", "ssize_t":
            return .integer(bits: 64, signed: true)
        default: return nil
        }
    }

    /// The shape a `TypeName` denotes, or nil if the verifier does not model it.
    static func shape(of type: TypeName) -> ValueShape? {
        if type.pointerDepth > 0 {
            return .pointer(pointee: type.pointerDepth == 1 && type.isRecord ? type.base : nil)
        }
        if type.base == "string" || type.base == "str" {
            return .string(size: type.arrayCount ?? Defaults.stringSize)
        }
        if type.arrayCount != nil { return nil }
        if type.isRecord { return .record(name: type.base) }
        return integerType(named: type.base)
    }
}
