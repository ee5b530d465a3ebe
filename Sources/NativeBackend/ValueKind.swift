import KernelInfo
import NativeABI

/// What a generated C expression holds, as the generator tracks it. Integers are C values of
/// their exact width and signedness (`__s16`, `__u64`), so C's own conversions widen them by
/// their signedness, as docs/semantics.md requires. Every other kind is a `char *` into the
/// probe's scratch frame, holding `layout.size` bytes laid out as `layout` says.
indirect enum ValueKind: Equatable, Sendable, CustomStringConvertible {
    case integer(bits: Int, signed: Bool)
    case boolean
    /// A NUL-terminated buffer of `size` bytes, zero after the first NUL.
    case string(size: Int)
    /// A kernel (or user) pointer, held as a `__u64`; `record` names the C record it points
    /// to (`struct sock`), nil for other pointees; `pointee` is the C type pointed to.
    case pointer(PointerTarget)
    case kernelStack(depth: Int)
    case kernelSymbol
    case inet
    case username
    case tuple([ValueKind])
    /// A kernel struct or union in memory: the C expression is its address (a `__u64`), so
    /// `.field` and `->field` compute member addresses (CO-RE) and read only what is used.
    case record(PointerTarget)
    /// A fixed-size array of integers copied into the frame (`__u8 daddr[4]`): `ntop()` and
    /// constant indexing use it.
    case array(elementBits: Int, signed: Bool, count: Int)
    /// The `args` builtin itself (only its fields can be used).
    case args
    /// No value (a call used as a statement).
    case none

    static let u64 = ValueKind.integer(bits: 64, signed: false)
    static let s64 = ValueKind.integer(bits: 64, signed: true)

    var description: String {
        switch self {
        case let .integer(bits, signed): return (signed ? "int" : "uint") + "\(bits)"
        case .boolean: return "bool"
        case let .string(size): return "string[\(size)]"
        case let .pointer(target): return "pointer to \(target.cType)"
        case .kernelStack: return "kstack"
        case .kernelSymbol: return "ksym"
        case .inet: return "inet"
        case .username: return "username"
        case let .tuple(kinds): return "(" + kinds.map(\.description).joined(separator: ", ") + ")"
        case let .record(target): return target.cType
        case let .array(bits, signed, count): return (signed ? "int" : "uint") + "\(bits)[\(count)]"
        case .args: return "args"
        case .none: return "none"
        }
    }

    /// Integer-like values (pointers and booleans included): usable in arithmetic.
    var isScalar: Bool {
        switch self {
        case .integer, .boolean, .pointer, .kernelSymbol, .username: return true
        default: return false
        }
    }

    /// Width and signedness as an integer operand: pointers are `uint64`, `bool` is `uint8`.
    var integerShape: (bits: Int, signed: Bool)? {
        switch self {
        case let .integer(bits, signed): return (bits, signed)
        case .boolean: return (8, false)
        case .pointer, .kernelSymbol, .username: return (64, false)
        default: return nil
        }
    }

    /// The C type of a scalar expression of this kind.
    var cScalarType: String? {
        switch self {
        case let .integer(bits, signed): return Self.cInteger(bits: bits, signed: signed)
        case .boolean: return "__u8"
        case .pointer, .kernelSymbol, .username: return "__u64"
        default: return nil
        }
    }

    static func cInteger(bits: Int, signed: Bool) -> String {
        (signed ? "__s" : "__u") + "\(bits)"
    }

    /// How the value is stored in an event, key or map value.
    var nativeType: NativeType? {
        switch self {
        case let .integer(bits, signed): return .integer(bits: bits, signed: signed)
        case .boolean: return .boolean
        case .pointer: return .integer(bits: 64, signed: false)
        case let .string(size): return .string(size: size)
        case let .kernelStack(depth): return .kernelStack(depth: depth)
        case .kernelSymbol: return .kernelSymbol
        case .inet: return .inet
        case .username: return .username
        case let .tuple(kinds):
            guard let layout = RecordLayout(kinds) else { return nil }
            return .tuple(layout.fields)
        case .args, .none, .record, .array: return nil
        }
    }

    /// Bytes a buffer of this kind occupies (scalars: their width).
    var byteSize: Int {
        if case let .array(bits, _, count) = self { return bits / 8 * count }
        return nativeType?.size ?? 8
    }

    /// Byte alignment in a record.
    var alignment: Int {
        switch self {
        case let .integer(bits, _): return bits / 8
        case .boolean: return 1
        case .string: return 1
        case let .tuple(kinds): return kinds.map(\.alignment).max() ?? 1
        default: return 8
        }
    }
}

/// What a pointer value points to, for `->`, `*` and `str()`.
struct PointerTarget: Equatable, Sendable {
    /// The pointee's C spelling as Ken generates it (`struct sock`, `__u8`, `char`).
    var cType: String
    /// The pointee as the kernel describes it; nil when unknown (`void *`).
    var pointee: CType?
    /// The memory is user memory (read it with the `_user` helpers).
    var user: Bool
}
