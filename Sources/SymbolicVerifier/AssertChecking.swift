import BpftraceSyntax
import Z3

/// One path arriving at an assert: its state and the assert's condition evaluated there.
struct AssertReach {
    var state: PathState
    var holds: Z3Bool
    /// The first construct on the path (or in the assert) the verifier does not model.
    var unsupported: Unsupported?
}

/// What the paths reaching one assert showed, once decided.
struct AssertOutcome {
    var violation: Counterexample?
    var unknownReason: String?
    var pathsReached = 0
    var feasiblePaths = 0
    /// Set when paths reach the assert but none is possible together with the assumes, while
    /// some is possible without them.
    var excludedByAssumes = false
    /// A feasible path's state, for the vacuity check.
    var representative: PathState?
}

extension ProbeRun {
    /// Records one path reaching an assert; all paths are decided together afterwards (one
    /// disjunctive query instead of one per path).
    func checkAssert(_ expression: Expression, message: String?, at statement: Statement, _ state: PathState) {
        var scratch = state
        let holds = truth(expression, &scratch)
        var reached = state
        reached.events = scratch.events // reads made by the assert itself (a re-read, an overtaken map)
        session.reaches[statement.range.start, default: []].append(
            AssertReach(state: reached, holds: holds, unsupported: scratch.unsupported.first))
    }

    /// Decides an assert from all the paths that reached it: VIOLATED if some path ∧ its
    /// assumes ∧ ¬E is satisfiable; otherwise UNKNOWN if any path was not fully modelled.
    func decide(_ location: SourceLocation) -> AssertOutcome {
        var outcome = AssertOutcome()
        let reaches = session.reaches[location] ?? []
        outcome.pathsReached = reaches.count
        let clean = reaches.filter { $0.unsupported == nil }
        if let first = reaches.compactMap(\.unsupported).first {
            outcome.unknownReason = "unsupported on a path to this assert: \(first.what) at \(first.location)"
        }
        guard !clean.isEmpty else { return outcome }

        let failing = clean.map { reach in
            context.and(reach.state.conditions + reach.state.assumptions + [reach.holds.not])
        }
        switch session.solve(axioms + [context.or(failing)]) {
        case var .satisfiable(model):
            // Without kernel types a field could be as narrow as a u8 or an s8: the failure is
            // real for every type only if it needs no value outside 0...127 of such a field.
            var narrowed: [Z3Bool] = []
            if !untypedReads.isEmpty {
                let small = context.bitVector(UInt64(127), width: 64)
                let narrow = untypedReads.map { $0.term.resized(to: 64, signed: false).ule(small) }
                switch session.solve(axioms + [context.or(failing)] + narrow) {
                case let .satisfiable(narrowModel):
                    model = narrowModel
                    narrowed = narrow
                case .unsatisfiable:
                    let names = Array(Set(untypedReads.map(\.name))).sorted().joined(separator: ", ")
                    outcome.unknownReason = "the assert fails only for values of \(names) that not every integer "
                        + "type can hold, and the type is unknown without kernel types"
                    return outcome
                case let .unknown(reason):
                    outcome.unknownReason = reason
                    return outcome
                }
            }
            // Prefer a counterexample whose strings read as words: one more query, same facts.
            for alphabet in [Self.lowercase, Self.printable] {
                if let readable = readableStrings(alphabet), case let .satisfiable(nicer) =
                    session.solve(axioms + [context.or(failing), readable] + narrowed) {
                    model = nicer
                    break
                }
            }
            let index = failing.firstIndex { model.evaluate($0) == true } ?? 0
            outcome.violation = counterexample(model, clean[index].state)
            return outcome
        case let .unknown(reason):
            outcome.unknownReason = reason
            return outcome
        case .unsatisfiable:
            break
        }
        // Holds on every clean path; is any of them possible at all? A path with no branch
        // conditions and no assumes is: the type axioms alone are always satisfiable.
        if let free = clean.first(where: { $0.state.conditions.isEmpty && $0.state.assumptions.isEmpty }) {
            outcome.representative = free.state
            outcome.feasiblePaths = 1
            return outcome
        }
        let possible = clean.map { context.and($0.state.conditions + $0.state.assumptions) }
        switch session.solve(axioms + [context.or(possible)]) {
        case let .satisfiable(model):
            let index = possible.firstIndex { model.evaluate($0) == true } ?? 0
            outcome.representative = clean[index].state
            outcome.feasiblePaths = possible.filter { model.evaluate($0) == true }.count
        case .unsatisfiable:
            if clean.contains(where: { !$0.state.assumptions.isEmpty }) {
                let withoutAssumes = clean.map { context.and($0.state.conditions) }
                if case .satisfiable = session.solve(axioms + [context.or(withoutAssumes)]) {
                    outcome.excludedByAssumes = true
                }
            }
        case let .unknown(reason):
            if outcome.unknownReason == nil { outcome.unknownReason = reason }
        }
        return outcome
    }

    /// Whether the assert holds whatever the program computes: its variables and maps replaced
    /// by unconstrained values. Returns the reason when it does (a vacuous assert).
    func vacuity(of expression: Expression, representative: PathState) -> String? {
        var havoc = representative
        for (name, value) in representative.variables {
            if let shape = value.shape, case .record = shape { continue }
            if let shape = value.shape {
                havoc.variables[name] = freshValue(named: "p\(probeIndex)|havoc$\(name)", shape: shape, valueBits: nil)
            }
        }
        for name in representative.maps.keys {
            let shape = mapShapes[name] ?? MapShape.defaultShape
            havoc.maps[name] = context.arrayConstant("p\(probeIndex)|havoc@\(name)", indexWidth: shape.keyBits,
                                                     valueWidth: shape.valueBits)
        }
        let holds = truth(expression, &havoc)
        guard havoc.unsupported.count == representative.unsupported.count else { return nil }
        if case .unsatisfiable = session.solve(axioms + [holds.not]) {
            return "the assert holds whatever the program does (a tautology)"
        }
        guard !representative.assumeExpressions.isEmpty else { return nil }
        var assumed: [Z3Bool] = []
        for assumption in representative.assumeExpressions {
            assumed.append(truth(assumption, &havoc))
        }
        if case .unsatisfiable = session.solve(axioms + assumed + [holds.not]) {
            return "the assert follows from the assumes alone, whatever the program does"
        }
        return nil
    }

    // MARK: Counterexamples

    static let lowercase: ClosedRange<UInt8> = UInt8(ascii: "a")...UInt8(ascii: "z")
    static let printable: ClosedRange<UInt8> = 0x20...0x7E

    /// Every string the model shows holds only bytes of `alphabet` before its NUL: lowercase
    /// words first, else printable text (paths have `/` and `.`).
    private func readableStrings(_ alphabet: ClosedRange<UInt8>) -> Z3Bool? {
        let zero = context.bitVector(UInt64(0), width: 8)
        let a = context.bitVector(UInt64(alphabet.lowerBound), width: 8)
        let z = context.bitVector(UInt64(alphabet.upperBound), width: 8)
        var facts: [Z3Bool] = []
        for item in modelItems {
            guard case .string = item.kind else { continue }
            for index in 0..<(item.term.width / 8) {
                let byte = item.term.extract(high: index * 8 + 7, low: index * 8)
                facts.append(byte.eq(zero).or(byte.uge(a).and(byte.ule(z))))
            }
        }
        return facts.isEmpty ? nil : context.and(facts)
    }

    private func counterexample(_ model: Z3Model, _ state: PathState) -> Counterexample {
        let path = state.decisions.map { decision in
            PathStep(position: Self.position(decision.location), construct: decision.construct,
                     condition: decision.condition, taken: decision.taken)
        }
        var values: [ModelValue] = []
        var shown: Set<String> = []
        for item in modelItems where !shown.contains(item.name) {
            shown.insert(item.name)
            values.append(ModelValue(name: item.name, value: Self.format(item, model)))
        }
        for name in state.variables.keys.sorted() {
            guard let value = state.variables[name] else { continue }
            for item in Self.items(named: "$" + name, value) where !shown.contains(item.name) {
                shown.insert(item.name)
                values.append(ModelValue(name: item.name, value: Self.format(item, model)))
            }
        }
        return Counterexample(path: path, values: values, interleaving: explain(state, model))
    }

    static func items(named name: String, _ value: SymbolicValue) -> [ModelItem] {
        switch value {
        case let .integer(bits, signed): return [ModelItem(name: name, term: bits, kind: .integer(signed: signed))]
        case let .string(bytes): return [ModelItem(name: name, term: bytes, kind: .string)]
        case let .pointer(address, _): return [ModelItem(name: name, term: address, kind: .pointer)]
        case let .tuple(elements):
            return elements.enumerated().flatMap { items(named: "\(name).\($0.offset)", $0.element) }
        case .boolean, .object, .args:
            return []
        }
    }

    static func format(_ item: ModelItem, _ model: Z3Model) -> String {
        switch item.kind {
        case let .integer(signed):
            if signed, let value = model.evaluateSigned(item.term) {
                return value < 0 || value < 10 ? String(value) : "\(value) (0x\(String(value, radix: 16)))"
            }
            guard let value = model.evaluate(item.term) else { return "?" }
            return value < 10 ? String(value) : "\(value) (0x\(String(value, radix: 16)))"
        case .pointer:
            guard let value = model.evaluate(item.term) else { return "?" }
            return "0x" + String(value, radix: 16)
        case .string:
            guard let bytes = model.evaluateBytes(item.term) else { return "?" }
            var text = "\""
            for byte in bytes.prefix(while: { $0 != 0 }) {
                switch byte {
                case UInt8(ascii: "\""): text += "\\\""
                case UInt8(ascii: "\\"): text += "\\\\"
                case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
                default: text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
                }
            }
            return text + "\""
        }
    }

    static func position(_ location: SourceLocation) -> SourcePosition {
        SourcePosition(file: location.file, line: location.line, column: location.column)
    }
}
