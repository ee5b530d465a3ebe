import BpftraceSyntax
import KernelInfo

/// Result types of unary and binary operators, following bpftrace 0.17's rules.
extension ResolutionPass {
    // MARK: Operators

    func unary(_ op: UnaryOperator, _ operand: Typed) -> Typed {
        switch op {
        case .dereference:
            if let c = operand.cType?.resolved, case let .pointer(inner) = c {
                return Typed(type: TypeMapping.semantic(inner), kernel: operand.kernel.map {
                    KernelValueInfo(cType: inner, isUserPointer: $0.isUserPointer, origin: $0.origin)
                })
            }
            if case let .pointer(to) = operand.type { return Typed(type: to, kernel: nil) }
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .addressOf:
            return Typed(type: .pointer(to: operand.type),
                         kernel: operand.kernel.map { KernelValueInfo(cType: .pointer($0.cType), origin: $0.origin) })
        case .logicalNot:
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .negate:
            // bpftrace widens to 64 bits and keeps the operand's signedness (`-$u32` is uint64).
            return Typed(type: .integer(bits: 64, signed: operand.type == .unknown || Self.isSigned(operand.type)), kernel: nil)
        case .bitNot, .plus:
            return Typed(type: operand.type, kernel: nil)
        }
    }

    func binary(_ op: BinaryOperator, _ l: Typed, _ r: Typed) -> Typed {
        switch op {
        case .logicalOr, .logicalAnd, .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .add, .subtract:
            if case .pointer = l.type { return Typed(type: l.type, kernel: l.kernel) }
            fallthrough
        default:
            // 64-bit result, signed only when both sides are (C's rule for mixed 64-bit
            // operands, and bpftrace's: `(nsecs - @t) / 1000` is uint64).
            let signed: Bool
            switch (l.type, r.type) {
            case (.unknown, _): signed = Self.isSigned(r.type)
            case (_, .unknown): signed = Self.isSigned(l.type)
            default: signed = Self.isSigned(l.type) && Self.isSigned(r.type)
            }
            return Typed(type: .integer(bits: 64, signed: signed), kernel: nil)
        }
    }

    static func isSigned(_ t: SemanticType) -> Bool {
        if case let .integer(_, signed) = t { return signed }
        return false
    }
}
