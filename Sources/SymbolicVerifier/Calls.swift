import BpftraceSyntax
import Z3

/// Builtin functions and assignment.
extension ProbeRun {
    /// Functions whose only effect is outside the program state (output, signals, exit).
    static let outputOnly: Set<String> = ["printf", "print", "time", "join", "cat", "system", "signal", "exit",
                                          "debugf", "errorf", "warnf", "override", "unwatch", "printk"]
    /// Functions whose result the verifier does not model: any value of their type is possible,
    /// which over-approximates them (so a proof stays sound).
    static let opaqueStrings: Set<String> = ["ksym", "usym", "ntop", "username", "path", "strftime", "strerror",
                                             "cgroup_path", "kstack", "ustack", "buf", "macaddr"]
    static let opaqueIntegers: Set<String> = ["kaddr", "uaddr", "reg", "cgroupid", "pton", "percpu_kaddr",
                                              "len", "cpid", "numaid", "sizeof"]
    static let aggregates: Set<String> = ["count", "sum", "min", "max", "avg", "stats", "hist", "lhist", "tseries"]

    func call(_ name: String, _ arguments: [Expression], _ expression: Expression,
              _ state: inout PathState) -> SymbolicValue {
        if Self.outputOnly.contains(name) {
            // Arguments are evaluated for their effects on state (`@x++` in a printf); what is
            // printed is not state, so values the verifier cannot model here do not matter.
            let before = state.unsupported.count
            for argument in arguments { _ = evaluate(argument, &state) }
            state.unsupported.removeSubrange(before...)
            return .integer(context.bitVector(UInt64(0), width: 64), signed: false)
        }
        switch name {
        case "str":
            return str(arguments, expression, &state)
        case "bswap", "ntohs", "htons", "ntohl", "htonl":
            guard let argument = arguments.first, arguments.count == 1 else {
                return unsupported("\(name) with \(arguments.count) arguments", expression, &state)
            }
            let value = evaluate(argument, &state)
            if name == "bswap", let unknown = untypedOrigin([argument], matters: "the width", for: "bswap()") {
                return unsupported(unknown, expression, &state)
            }
            guard case let .integer(raw, signed) = value else {
                guard let (bits, signed) = value.widened(context) else {
                    return unsupported("\(name) of \(describe(value))", expression, &state)
                }
                return .integer(bits.byteSwapped, signed: signed)
            }
            switch name {
            case "ntohs", "htons": return .integer(raw.resized(to: 16, signed: signed).byteSwapped, signed: false)
            case "ntohl", "htonl": return .integer(raw.resized(to: 32, signed: signed).byteSwapped, signed: false)
            default:
                // bswap swaps the bytes of its argument's own width (u16 → 16-bit swap).
                return .integer(raw.byteSwapped, signed: signed)
            }
        case "strncmp":
            return strncmp(arguments, expression, &state)
        case "kptr", "uptr":
            guard let argument = arguments.first else { return unsupported(name, expression, &state) }
            return evaluate(argument, &state)
        case "delete":
            if let target = arguments.first, case let .map(map, keys) = target.kind {
                // 0.17 spelling `delete(@m[k])`; newer `delete(@m, k)`.
                mapDelete(map, keys: keys.isEmpty ? Array(arguments.dropFirst()) : keys, expression, &state)
                return .integer(context.bitVector(UInt64(0), width: 64), signed: false)
            }
            return unsupported("delete of a non-map", expression, &state)
        case "clear", "zero":
            if let target = arguments.first, case let .map(map, _) = target.kind {
                state.maps[map] = mapClear(map)
                return .integer(context.bitVector(UInt64(0), width: 64), signed: false)
            }
            return unsupported("\(name) of a non-map", expression, &state)
        default:
            break
        }
        if Defaults.freshEachRead.contains(name) {
            return freshRead(name, shape: expression.type.flatMap(ValueShape.init) ?? .u64)
        }
        if arguments.isEmpty, Defaults.builtin(name) != nil {
            // `comm()`, `pid()`: 0.23+ call spelling of builtins.
            return builtin(name, expression)
        }
        if Self.opaqueStrings.contains(name) || Self.opaqueIntegers.contains(name) {
            for argument in arguments { _ = evaluate(argument, &state) }
            note("result of \(name)() is not modelled: any value is assumed")
            let shape: ValueShape = Self.opaqueStrings.contains(name) ? .string(size: Defaults.stringSize) : .u64
            return freshRead(name + "()", shape: expression.type.flatMap(ValueShape.init) ?? shape)
        }
        if Self.aggregates.contains(name) {
            return unsupported("\(name)() outside a map assignment", expression, &state)
        }
        return unsupported("function \(name)()", expression, &state)
    }

    private func str(_ arguments: [Expression], _ expression: Expression, _ state: inout PathState) -> SymbolicValue {
        guard let source = arguments.first, arguments.count <= 2 else {
            return unsupported("str() with \(arguments.count) arguments", expression, &state)
        }
        var size = Defaults.stringSize
        if arguments.count == 2 {
            guard case let .integer(literal) = arguments[1].kind, let value = literal.value, value > 0, value <= 1024 else {
                return unsupported("str() with a non-constant length", expression, &state)
            }
            // bpftrace 0.17 keeps n characters: the buffer holds them and the NUL.
            size = Int(value) + 1
        }
        let value = evaluate(source, &state)
        switch value {
        case let .string(raw):
            // Copying a string into a smaller buffer truncates and NUL-terminates it.
            if raw.width <= size * 8 { return .string(raw.zeroExtend(by: size * 8 - raw.width)) }
            let kept = raw.extract(high: (size - 1) * 8 - 1, low: 0)
            return .string(size > 1 ? context.bitVector(UInt64(0), width: 8).concat(kept)
                                    : context.bitVector(UInt64(0), width: 8))
        default:
            guard value.widened(context) != nil else {
                return unsupported("str() of \(describe(value))", expression, &state)
            }
            // Memory behind a pointer: a fresh value at every read (docs/semantics.md).
            return pointerRead(ExpressionText.render(expression), shape: .string(size: size),
                               at: expression.range.start, &state)
        }
    }

    /// `strncmp(a, b, n)`: 0 when the first n bytes agree (stopping at a common NUL).
    private func strncmp(_ arguments: [Expression], _ expression: Expression, _ state: inout PathState) -> SymbolicValue {
        guard arguments.count == 3, case let .integer(literal) = arguments[2].kind, let n = literal.value else {
            return unsupported("strncmp() without a constant length", expression, &state)
        }
        let a = evaluate(arguments[0], &state), b = evaluate(arguments[1], &state)
        guard case let .string(x) = a, case let .string(y) = b else {
            return unsupported("strncmp() of non-strings", expression, &state)
        }
        let (px, py) = Self.padToSameWidth(x, y)
        let count = min(Int(n), px.width / 8)
        // Strings are zero after their NUL, so comparing all n bytes is comparing up to the NUL.
        let equal: Z3Bool = count == 0 ? context.bool(true)
            : px.extract(high: count * 8 - 1, low: 0).eq(py.extract(high: count * 8 - 1, low: 0))
        let differs = freshValue(named: uniqueName("strncmp"), shape: .s64, valueBits: nil)
        guard case let .integer(nonZero, _) = differs else { return differs }
        addAxiom(nonZero.isNonZero)
        return .integer(equal.ite(context.bitVector(UInt64(0), width: 64), nonZero), signed: true)
    }

    // MARK: Assignment

    /// Stores `value` into a `$var` or `@map[keys]`.
    func assign(_ value: SymbolicValue, to target: Expression, _ state: inout PathState) {
        switch target.kind {
        case let .variable(name):
            if state.variables[name] != nil, let origin = untyped.variables[name] {
                // The variable took the untyped field's width at its first assignment.
                _ = unsupported("the width of $\(name) is that of \(origin), unknown without kernel types, "
                                + "and reassigning it depends on it", target, &state)
            }
            state.variables[name] = fitted(value, to: state.variables[name])
        case let .map(name, keys):
            mapWrite(name, keys: keys, value: value, target, &state)
        default:
            _ = unsupported("assignment to \(ExpressionText.render(target))", target, &state)
        }
    }

    /// A variable keeps the integer type of its first assignment (its slot's size and sign).
    private func fitted(_ value: SymbolicValue, to existing: SymbolicValue?) -> SymbolicValue {
        guard case let .integer(old, oldSigned)? = existing else {
            if case let .boolean(condition) = value {
                return .integer(condition.ite(context.bitVector(UInt64(1), width: 64),
                                              context.bitVector(UInt64(0), width: 64)), signed: false)
            }
            return value
        }
        guard let (bits, _) = value.widened(context) else { return value }
        let naturalWidth: Int
        if case let .integer(raw, _) = value { naturalWidth = raw.width } else { naturalWidth = 64 }
        if naturalWidth > old.width {
            // bpftrace 0.17 does not store a wider integer into a narrower variable reliably
            // (observed: `$x = (uint8)5; $x = 300;` leaves 5): the value is unknown.
            note("assigning a \(naturalWidth)-bit value to a \(old.width)-bit variable: its value afterwards is unknown")
            return freshValue(named: uniqueName("narrowing"), shape: .integer(bits: old.width, signed: oldSigned),
                              valueBits: nil)
        }
        return .integer(bits.resized(to: old.width, signed: false), signed: oldSigned)
    }

    func executeAssignment(_ target: Expression, _ op: AssignmentOperator, _ valueExpression: Expression,
                           _ state: inout PathState) {
        if op == .assign, case let .map(name, _) = target.kind,
           case let .call(function, arguments) = valueExpression.kind, Self.aggregates.contains(function) {
            aggregate(function, arguments, into: target, map: name, valueExpression, &state)
            return
        }
        let value = evaluate(valueExpression, &state)
        guard let binaryOperator = op.binaryOperator else {
            assign(value, to: target, &state)
            return
        }
        let current = evaluate(target, &state)
        assign(apply(binaryOperator, current, value, valueExpression, &state), to: target, &state)
    }

    /// `@m[k] = count()` and friends update the entry from its previous value.
    private func aggregate(_ function: String, _ arguments: [Expression], into target: Expression, map: String,
                           _ valueExpression: Expression, _ state: inout PathState) {
        let old = evaluate(target, &state)
        guard let (oldBits, oldSigned) = old.widened(context) else {
            _ = unsupported("\(function)() into @\(map)", valueExpression, &state)
            return
        }
        let argument = arguments.first.map { evaluate($0, &state) }
        let updated: SymbolicValue
        switch function {
        case "count":
            updated = .integer(oldBits.add(context.bitVector(UInt64(1), width: 64)), signed: oldSigned)
        case "sum", "min", "max":
            guard let (x, xSigned) = argument?.widened(context) else {
                _ = unsupported("\(function)() of a non-integer", valueExpression, &state)
                return
            }
            switch function {
            case "sum": updated = .integer(oldBits.add(x), signed: oldSigned)
            case "min": updated = .integer((xSigned ? x.slt(oldBits) : x.ult(oldBits)).ite(x, oldBits), signed: oldSigned)
            default: updated = .integer((xSigned ? x.sgt(oldBits) : x.ugt(oldBits)).ite(x, oldBits), signed: oldSigned)
            }
        default:
            note("\(function)() map values are not modelled: any value is assumed after an update")
            updated = freshRead("@\(map) after \(function)()", shape: .s64)
        }
        assign(updated, to: target, &state)
    }
}
