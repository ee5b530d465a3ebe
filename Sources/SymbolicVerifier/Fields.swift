import BpftraceSyntax
import Z3

/// Field reads: `args->x`, `$sk->__sk_common.skc_dport`, tuple elements.
extension ProbeRun {
    func fieldAccess(_ base: Expression, field: String, arrow: Bool, _ expression: Expression,
                     asObject: Bool, _ state: inout PathState) -> SymbolicValue {
        let text = ExpressionText.render(expression)
        let baseValue = evaluate(base, &state, asObject: true)
        let typed = expression.type.flatMap(ValueShape.init)
        switch baseValue {
        case .args:
            // Tracepoint fields and function arguments are fixed inputs of the run.
            let shape = typed ?? (asObject ? .record(name: nil) : defaultFieldShape(text))
            let name = "args" + (arrow ? "->" : ".") + field
            let value = environmentValue(name, shape: shape)
            if typed == nil, !asObject { recordUntyped(text, value) }
            return value
        case let .pointer(address, pointee):
            let reference = ObjectReference(address: address, record: pointee, path: [field], text: text)
            return materialize(reference, typed: typed, asObject: asObject, expression, &state)
        case var .object(reference):
            reference.path.append(field)
            reference.text = text
            return materialize(reference, typed: typed, asObject: asObject, expression, &state)
        case let .tuple(elements):
            guard let index = Int(field), elements.indices.contains(index) else {
                return unsupported("tuple element .\(field)", expression, &state)
            }
            return elements[index]
        case .integer:
            // `arg0->x` without a cast: bpftrace needs a type, so only a typed tree gets here.
            guard let (address, _) = baseValue.widened(context) else { break }
            let reference = ObjectReference(address: address, record: nil, path: [field], text: text)
            return materialize(reference, typed: typed, asObject: asObject, expression, &state)
        default:
            break
        }
        return unsupported("field access \(text) on \(describe(baseValue))", expression, &state)
    }

    /// Keeps an untyped field's value so that a counterexample can be checked against every
    /// width and signedness the field might have (`decide`).
    func recordUntyped(_ text: String, _ value: SymbolicValue) {
        guard options.untypedFields == .unknownWhereTheyMatter, case let .integer(bits, _) = value else { return }
        untypedReads.append((text, bits))
    }

    private func defaultFieldShape(_ text: String) -> ValueShape {
        switch options.untypedFields {
        case .unknownWhereTheyMatter:
            note("type of \(text) unknown (not resolved): read as 64 bits; where its width or signedness "
                 + "matters the assert is UNKNOWN")
        case .assumeUInt64:
            note("type of \(text) unknown (not resolved); assumed uint64")
        }
        return .u64
    }

    /// Turns a field path into a value: a nested record stays a reference (nothing is read until
    /// a scalar is reached); a scalar is read from memory behind the pointer, a fresh value at
    /// every read (another CPU or thread may write it; docs/semantics.md).
    private func materialize(_ reference: ObjectReference, typed: ValueShape?, asObject: Bool,
                             _ expression: Expression, _ state: inout PathState) -> SymbolicValue {
        let shape = typed ?? (asObject ? .record(name: nil) : defaultFieldShape(reference.text))
        switch shape {
        case .record:
            return .object(reference)
        case .integer, .pointer, .string:
            let value = pointerRead(reference.text, shape: shape, at: expression.range.start, &state)
            if typed == nil { recordUntyped(reference.text, value) }
            return value
        case .tuple:
            return unsupported("field \(reference.text) of tuple type", expression, &state)
        }
    }
}
