import BpftraceSyntax
import NativeABI

/// What bpftrace does in user space becomes a ring-buffer record: `printf`, `print`, `clear`,
/// `zero`, `time`, `exit`. Records are built in the scratch frame and copied out with
/// `bpf_ringbuf_output`; when the ring buffer is full, `ken_lost` counts the record.
extension FunctionEmitter {
    /// C (a void statement expression) that writes `event` with `values` as its fields.
    func event(_ event: NativeEvent, values: [CValue]) throws(NativeCompileError) -> CValue {
        let kinds = values.map(\.kind)
        guard let layout = RecordLayout(kinds, start: 8) else {
            throw .unsupported(.init("output of \(kinds.map(\.description).joined(separator: ", "))"))
        }
        var planned = event
        if case let .printf(format, _) = event { planned = .printf(format: format, arguments: layout.fields) }
        if case .printValue = event, let field = layout.fields.first { planned = .printValue(field) }
        if case .join = event, let field = layout.fields.first { planned = .join(field) }
        let id = object.events.id(of: planned, layout: values.isEmpty ? nil : layout)
        let record = frameStruct("struct \(EventTable.structName(id))", name: "e\(id)", size: object.events.recordSize(id))
        var parts = ["\(record).id = \(id);"]
        for (i, value) in values.enumerated() {
            let member = "\(record).\(EventTable.fieldName(i))"
            parts.append(try store(value, into: member, as: kinds[i]))
        }
        parts.append("ken_output(&\(record), sizeof(\(record)));")
        return CValue(c: "({ \(parts.joined(separator: " ")) })", kind: .none, statements: parts)
    }

    func printf(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard let first = arguments.first, case let .string(format) = first.kind else {
            throw .unresolved("printf() needs a literal format string")
        }
        var values: [CValue] = []
        for argument in arguments.dropFirst() {
            let v = try emit(argument)
            switch v.kind {
            case .integer, .boolean, .string, .kernelSymbol, .inet, .username, .kernelStack:
                values.append(v)
            case .pointer:
                values.append(CValue(c: v.c, kind: .u64))
            case .array:
                guard let text = byteArrayAsString(v) else { throw .unsupported(.init("printf() of \(v.kind)")) }
                values.append(text)
            default:
                throw .unsupported(.init("printf() of \(v.kind)"))
            }
        }
        return try event(.printf(format: format, arguments: []), values: values)
    }

    func print(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard let first = arguments.first else { throw .unresolved("print() needs an argument") }
        if case let .map(name, keys) = first.kind, keys.isEmpty {
            var numbers: [Int] = []
            for argument in arguments.dropFirst() {
                guard case let .integer(literal) = argument.kind, let v = literal.value, v <= UInt64(Int.max) else {
                    throw .unsupported(.init("print() with non-constant top or divisor"))
                }
                numbers.append(Int(v))
            }
            _ = object.maps.entry(name)
            return try event(.printMap(map: name, top: numbers.first ?? 0, divisor: numbers.count > 1 ? numbers[1] : 0), values: [])
        }
        guard arguments.count == 1 else { throw .unsupported(.init("print() of a value with more arguments")) }
        let v = try emit(first)
        guard v.kind.nativeType != nil else { throw .unsupported(.init("print() of \(v.kind)")) }
        let value = v.kind.isScalar && v.kind.cScalarType == "__u64" && !(v.kind == .u64) ? CValue(c: v.c, kind: .u64) : v
        return try event(.printValue(NativeField(offset: 8, type: value.kind.nativeType!)), values: [value])
    }
}
