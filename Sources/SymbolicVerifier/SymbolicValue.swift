import Z3

/// A struct or union in kernel memory, named by the pointer it was reached through and the
/// field path from there: `$sk->__sk_common` is (address of `$sk`, `struct sock`, [__sk_common]).
struct ObjectReference {
    var address: Z3BitVector
    var record: String?
    var path: [String]
    /// How the program wrote it, for model lines.
    var text: String
}

/// A symbolic bpftrace value.
indirect enum SymbolicValue {
    /// `bits.width` bits; `signed` decides extension, comparison and printing.
    case integer(Z3BitVector, signed: Bool)
    /// The result of a comparison or logical operator (an integer 0/1 when used as one).
    case boolean(Z3Bool)
    /// A string buffer: byte i in bits 8i+7...8i. Always NUL-terminated and zero after its first
    /// NUL (every string symbol is constrained so), hence equal contents ⇔ equal bits.
    case string(Z3BitVector)
    case pointer(Z3BitVector, pointee: String?)
    case object(ObjectReference)
    case tuple([SymbolicValue])
    /// The probe's `args` (tracepoint fields or function arguments).
    case args

    var shape: ValueShape? {
        switch self {
        case let .integer(bits, signed): return .integer(bits: bits.width, signed: signed)
        case .boolean: return .integer(bits: 64, signed: false)
        case let .string(bytes): return .string(size: bytes.width / 8)
        case let .pointer(_, pointee): return .pointer(pointee: pointee)
        case let .object(reference): return .record(name: reference.record)
        case let .tuple(elements):
            let shapes = elements.compactMap(\.shape)
            return shapes.count == elements.count ? .tuple(shapes) : nil
        case .args: return nil
        }
    }

    /// As a 64-bit integer the way bpftrace widens operands (by the operand's own signedness).
    func widened(_ context: Z3Context) -> (bits: Z3BitVector, signed: Bool)? {
        switch self {
        case let .integer(bits, signed):
            return (bits.resized(to: 64, signed: signed), signed)
        case let .boolean(condition):
            return (condition.ite(context.bitVector(UInt64(1), width: 64), context.bitVector(UInt64(0), width: 64)), false)
        case let .pointer(address, _):
            return (address, false)
        default:
            return nil
        }
    }

    /// As a condition (`if (x)`: x != 0).
    func truth(_ context: Z3Context) -> Z3Bool? {
        switch self {
        case let .boolean(condition): return condition
        case let .integer(bits, _): return bits.isNonZero
        case let .pointer(address, _): return address.isNonZero
        default: return nil
        }
    }
}
