import BpftraceSyntax

/// The layout of one map's keys and values, fixed for the whole program (bpftrace maps have one
/// key and value type), so every probe's reads and writes agree on the bits.
struct MapShape {
    enum KeyPart: Equatable {
        case integer
        case string(size: Int)

        var bits: Int {
            switch self {
            case .integer: return 64
            case let .string(size): return size * 8
            }
        }
    }

    var keyParts: [KeyPart]
    /// bpftrace stores integer map values as 64-bit; strings keep their buffer size.
    var value: ValueShape

    var keyBits: Int { max(keyParts.reduce(0) { $0 + $1.bits }, 64) }

    var valueBits: Int {
        switch value {
        case let .string(size): return size * 8
        default: return 64
        }
    }

    static let defaultShape = MapShape(keyParts: [], value: .s64)
}

/// Best-effort types without evaluation: uses the resolver's `type` when present, bpftrace's
/// defaults otherwise. Needed before execution to fix map layouts (a map may be read in one probe
/// and written in another) and ghost variables' widths.
struct StaticTypes {
    private(set) var variables: [String: ValueShape] = [:]
    private(set) var maps: [String: MapShape] = [:]

    init(program: Program) {
        for probe in program.probes {
            scan(probe.body)
        }
    }

    private mutating func scan(_ block: Block) {
        for statement in block.statements { scan(statement) }
    }

    private mutating func scan(_ statement: Statement) {
        switch statement.kind {
        case let .assignment(target, op, value):
            switch target.kind {
            case let .variable(name):
                if variables[name] == nil, op == .assign { variables[name] = shape(of: value) }
            case let .map(name, keys):
                recordMap(name, keys: keys, value: op == .assign ? shape(of: value) : nil)
            default: break
            }
            scanExpression(value)
        case let .letDeclaration(name, type, value):
            if let type, let shape = Defaults.shape(of: type) {
                variables[name] = shape
            } else if let value, variables[name] == nil {
                variables[name] = shape(of: value)
            }
            if let value { scanExpression(value) }
        case let .expression(expression), let .assume(expression), let .assert(expression, _):
            scanExpression(expression)
        case let .ifStatement(condition, then, otherwise):
            scanExpression(condition)
            scan(then)
            if let otherwise { scan(otherwise) }
        case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
             let .forRange(_, _, _, body):
            scan(body)
        case let .block(body):
            scan(body)
        case let .returnStatement(value):
            if let value { scanExpression(value) }
        case .breakStatement, .continueStatement:
            break
        }
    }

    /// Records keys of map reads, and of `delete(@m[k])`-style calls.
    private mutating func scanExpression(_ expression: Expression) {
        switch expression.kind {
        case let .map(name, keys):
            recordMap(name, keys: keys, value: nil)
            keys.forEach { scanExpression($0) }
        case let .call(_, arguments):
            arguments.forEach { scanExpression($0) }
        case let .unary(_, operand), let .incrementDecrement(_, _, operand), let .cast(_, operand),
             let .fieldAccess(operand, _, _):
            scanExpression(operand)
        case let .binary(_, lhs, rhs), let .index(lhs, rhs):
            scanExpression(lhs)
            scanExpression(rhs)
        case let .ternary(condition, then, otherwise):
            scanExpression(condition)
            scanExpression(then)
            scanExpression(otherwise)
        case let .tuple(elements):
            elements.forEach { scanExpression($0) }
        default:
            break
        }
    }

    private mutating func recordMap(_ name: String, keys: [Expression], value: ValueShape?) {
        var parts: [MapShape.KeyPart] = keys.map { key in
            if case let .string(size) = shape(of: key) { return .string(size: size) }
            return .integer
        }
        var current = maps[name] ?? MapShape(keyParts: parts, value: value.map(Self.mapValue) ?? .s64)
        if maps[name] != nil {
            if parts.count == current.keyParts.count {
                for index in parts.indices {
                    if case let .string(a) = parts[index], case let .string(b) = current.keyParts[index] {
                        parts[index] = .string(size: max(a, b))
                    } else if current.keyParts[index] != .integer {
                        parts[index] = current.keyParts[index]
                    }
                }
                current.keyParts = parts
            }
            if let value, case let .string(newSize) = Self.mapValue(value) {
                if case let .string(oldSize) = current.value {
                    current.value = .string(size: max(oldSize, newSize))
                } else {
                    current.value = .string(size: newSize)
                }
            }
        }
        maps[name] = current
    }

    private static func mapValue(_ shape: ValueShape) -> ValueShape {
        switch shape {
        case let .integer(_, signed): return .integer(bits: 64, signed: signed)
        case .string: return shape
        case .pointer: return .u64
        default: return .s64
        }
    }

    /// The shape an expression will have, as far as can be told without running it.
    func shape(of expression: Expression) -> ValueShape {
        if let type = expression.type, let shape = ValueShape(type) { return shape }
        switch expression.kind {
        case let .integer(literal):
            return (literal.value ?? 0) > UInt64(Int64.max) ? .u64 : .s64
        case let .string(text):
            return .string(size: text.utf8.count + 1)
        case .boolean:
            return .u64
        case let .variable(name):
            return variables[name] ?? .s64
        case let .map(name, _):
            return maps[name]?.value ?? .s64
        case let .builtin(name):
            return Defaults.builtin(name)?.shape ?? .u64
        case let .call(name, arguments):
            switch name {
            case "str":
                if arguments.count > 1, case let .integer(literal) = arguments[1].kind, let size = literal.value {
                    return .string(size: Int(min(size, 1024)) + 1)  // n characters and the NUL
                }
                return .string(size: Defaults.stringSize)
            case "comm": return .string(size: Defaults.commSize)
            case "count": return .u64
            case "sum", "min", "max", "avg": return arguments.first.map { shape(of: $0) } ?? .s64
            case "bswap": return arguments.first.map { shape(of: $0) } ?? .u64
            case "ntohs", "htons": return .integer(bits: 16, signed: false)
            case "ntohl", "htonl": return .integer(bits: 32, signed: false)
            case "ksym", "usym", "ntop", "username", "path", "strftime", "strerror", "cgroup_path", "func", "probe":
                return .string(size: Defaults.stringSize)
            default:
                return Defaults.builtin(name)?.shape ?? .u64
            }
        case let .cast(type, _):
            return Defaults.shape(of: type) ?? .u64
        case let .binary(op, lhs, rhs):
            switch op {
            case .add, .subtract, .multiply, .divide, .modulo, .bitAnd, .bitOr, .bitXor, .shiftLeft, .shiftRight:
                let left = shape(of: lhs), right = shape(of: rhs)
                if case .integer(_, true) = left, case .integer(_, true) = right { return .s64 }
                return .u64
            default:
                return .u64
            }
        case let .ternary(_, then, _):
            return shape(of: then)
        case let .tuple(elements):
            return .tuple(elements.map { shape(of: $0) })
        default:
            return .u64
        }
    }
}
