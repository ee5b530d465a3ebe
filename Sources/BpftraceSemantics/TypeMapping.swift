import BpftraceSyntax
import KernelInfo

/// How kernel C types appear in bpftrace, as bpftrace 0.17 itself types them (checked with
/// `bpftrace -d`): `char[N]` is `string[N]`, `char *` is `int8 *`, typedefs and enums become
/// their integer, records keep their `struct X` name.
enum TypeMapping {
    static func semantic(_ c: CType, dynamic: Bool = false) -> SemanticType {
        switch c {
        case .void:
            return .none
        case let .integer(i):
            return .integer(bits: i.bits, signed: i.signed)
        case .float:
            return .unknown
        case let .pointer(inner):
            return .pointer(to: semantic(inner))
        case let .array(element, count):
            if element.isCharacter { return .string(size: dynamic || count == 0 ? nil : count) }
            return .array(of: semantic(element), count: count)
        case let .record(r):
            return .record(name: r.spelling)
        case let .enumeration(_, bits, signed):
            return .integer(bits: bits, signed: signed)
        case let .typedef(_, inner):
            return semantic(inner)
        case .function, .unknown:
            return .unknown
        }
    }

    /// A bpftrace type name from a cast or `let` (`u32`, `int64`, `bool`, `string`, …).
    static func scalar(_ name: String) -> SemanticType? {
        if let (bits, signed) = BpftraceNames.integerType(name) { return .integer(bits: bits, signed: signed) }
        switch name {
        case "bool": return .boolean
        case "string": return .string(size: nil)
        case "inet": return .inet
        case "buffer": return .buffer(size: nil)
        case "usym": return .symbol(user: true)
        case "ksym": return .symbol(user: false)
        case "timestamp": return .timestamp
        default: return nil
        }
    }
}
