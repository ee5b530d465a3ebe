import BpftraceSyntax
import Z3

/// Maps within one probe run: an unknown initial array per map (what other runs and probes left
/// there) updated by this run's writes. A read sees this run's last write of the key unless a
/// concurrent writer may have stored since (`interfered`), and an insert into a map that may
/// be full may not take effect (`storedUnlessFull`); see docs/semantics.md.
extension ProbeRun {
    func mapRead(_ name: String, keys: [Expression], _ expression: Expression,
                 _ state: inout PathState) -> SymbolicValue {
        guard let key = mapKey(name, keys, expression, &state) else {
            return unsupported("key of @\(name)", expression, &state)
        }
        let shape = mapShapes[name] ?? MapShape.defaultShape
        let current = state.maps[name] ?? initialMap(name)
        let seen = interfered(current.select(key), map: name, key: key, readKeys: keys,
                              at: expression.range.start, &state)
        let value = decode(seen, shape.value)
        let initial = decode(initialMap(name).select(key), shape.value)
        remember(ExpressionText.render(expression) + " (at probe start)", initial)
        return value
    }

    func mapWrite(_ name: String, keys: [Expression], value: SymbolicValue, _ expression: Expression,
                  _ state: inout PathState) {
        guard let key = mapKey(name, keys, expression, &state) else {
            _ = unsupported("key of @\(name)", expression, &state)
            return
        }
        let shape = mapShapes[name] ?? MapShape.defaultShape
        guard let bits = encode(value, shape.value) else {
            _ = unsupported("storing \(describe(value)) in @\(name) (holds \(shape.value))", expression, &state)
            return
        }
        let current = state.maps[name] ?? initialMap(name)
        state.maps[name] = storedUnlessFull(current, map: name, key: key, bits: bits, at: expression.range.start, &state)
    }

    /// `delete`: the entry reads as zero afterwards (bpftrace's value for a missing key).
    func mapDelete(_ name: String, keys: [Expression], _ expression: Expression, _ state: inout PathState) {
        let shape = mapShapes[name] ?? MapShape.defaultShape
        guard let key = mapKey(name, keys, expression, &state) else {
            _ = unsupported("key of @\(name)", expression, &state)
            return
        }
        let current = state.maps[name] ?? initialMap(name)
        state.maps[name] = current.store(key, context.bitVector(UInt64(0), width: shape.valueBits))
        state.lastMapAccess[name] = MapAccess(isWrite: true, location: expression.range.start)
    }

    func mapClear(_ name: String) -> Z3Array {
        let shape = mapShapes[name] ?? MapShape.defaultShape
        return context.constantArray(indexWidth: shape.keyBits,
                                     value: context.bitVector(UInt64(0), width: shape.valueBits))
    }

    func mapKey(_ name: String, _ keys: [Expression], _ expression: Expression,
                        _ state: inout PathState) -> Z3BitVector? {
        let shape = mapShapes[name] ?? MapShape.defaultShape
        guard !keys.isEmpty else { return context.bitVector(UInt64(0), width: shape.keyBits) }
        guard keys.count == shape.keyParts.count else { return nil }
        var key: Z3BitVector?
        for (keyExpression, part) in zip(keys, shape.keyParts) {
            let value = evaluate(keyExpression, &state)
            let bits: Z3BitVector
            switch (part, value) {
            case let (.string(size), .string(raw)):
                guard raw.width <= size * 8 else { return nil }
                bits = raw.zeroExtend(by: size * 8 - raw.width)
            case (.integer, _):
                guard let (widened, _) = value.widened(context) else { return nil }
                bits = widened
            default:
                return nil
            }
            // Later key parts go to higher bits; any fixed layout works as long as it is one.
            key = key.map { bits.concat($0) } ?? bits
        }
        guard let key else { return nil }
        return key.width < shape.keyBits ? key.zeroExtend(by: shape.keyBits - key.width) : key
    }

    private func decode(_ bits: Z3BitVector, _ shape: ValueShape) -> SymbolicValue {
        switch shape {
        case .string:
            return .string(bits)
        case let .integer(_, signed):
            return .integer(bits, signed: signed)
        default:
            return .integer(bits, signed: false)
        }
    }

    func encode(_ value: SymbolicValue, _ shape: ValueShape) -> Z3BitVector? {
        switch (shape, value) {
        case let (.string(size), .string(raw)):
            if raw.width <= size * 8 { return raw.zeroExtend(by: size * 8 - raw.width) }
            return nil
        case (.string, _):
            return nil
        default:
            return value.widened(context)?.bits
        }
    }
}
