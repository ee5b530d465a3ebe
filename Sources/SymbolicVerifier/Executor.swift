import BpftraceSyntax
import Z3

/// Statement execution: a block maps a set of paths to the set of paths leaving it. `if` forks a
/// path in two (unless Z3's simplifier already decides the condition), loops are unrolled.
extension ProbeRun {
    func execute(_ block: Block, _ paths: [PathState]) -> [PathState] {
        var current = paths
        for statement in block.statements {
            var next: [PathState] = []
            for path in current {
                if path.control != .normal {
                    next.append(path)
                } else {
                    next += execute(statement, path)
                }
            }
            current = limitPaths(mergeIfTooMany(next), at: statement)
        }
        return current
    }

    private func limitPaths(_ paths: [PathState], at statement: Statement) -> [PathState] {
        guard paths.count > options.maxPaths else { return paths }
        if truncation == nil {
            truncation = "more than \(options.maxPaths) paths at \(statement.range.start); the rest were not explored"
        }
        return Array(paths.prefix(options.maxPaths))
    }

    func execute(_ statement: Statement, _ path: PathState) -> [PathState] {
        var state = path
        switch statement.kind {
        case let .expression(expression):
            _ = evaluate(expression, &state)
            return [state]
        case let .assignment(target, op, value):
            executeAssignment(target, op, value, &state)
            return [state]
        case let .letDeclaration(name, type, value):
            guard let value else {
                if let type, let shape = Defaults.shape(of: type),
                   case let .integer(bits, signed) = shape {
                    state.variables[name] = .integer(context.bitVector(UInt64(0), width: bits), signed: signed)
                }
                return [state]
            }
            if let type {
                let cast = Expression(.cast(type, value), range: value.range)
                state.variables[name] = evaluate(cast, &state)
            } else {
                state.variables[name] = evaluate(value, &state)
            }
            return [state]
        case let .ifStatement(condition, then, otherwise):
            let test = truth(condition, &state)
            return fork(state, on: test, condition, construct: "if",
                        whenTrue: { path in self.execute(then, [path]) },
                        whenFalse: { path in otherwise.map { block in self.execute(block, [path]) } ?? [path] })
        case let .unroll(count, body):
            guard case let .integer(literal) = count.kind, let times = literal.value, times <= 1000 else {
                _ = unsupported("unroll with a non-constant count", count, &state)
                markIncomplete(body, "unroll count is not a constant")
                return [state]
            }
            return loop(body, [state], iterations: Int(times))
        case let .whileLoop(condition, body):
            return whileLoop(condition, body, state)
        case let .forRange(variable, start, end, body):
            var scratch = state
            let first = evaluate(start, &scratch), last = evaluate(end, &scratch)
            if let (a, _) = first.widened(context), let (b, _) = last.widened(context),
               let low = constant(a), let high = constant(b), high >= low, high - low <= UInt64(options.loopBound) {
                var paths = [scratch]
                for index in low..<high {
                    paths = paths.map { path in
                        var copy = path
                        copy.variables[variable] = .integer(context.bitVector(index, width: 64), signed: true)
                        return copy
                    }
                    paths = iterate(body, paths)
                }
                return paths.map(leaveLoop)
            }
            _ = unsupported("for loop over a range not bounded by \(options.loopBound) constants", start, &state)
            markIncomplete(body, "the for loop's range is not a small constant")
            return [state]
        case let .forMap(_, map, body):
            _ = unsupported("for loop over a map", map, &state)
            markIncomplete(body, "for loops over maps are not modelled")
            return [state]
        case .breakStatement:
            state.control = .breakLoop
            return [state]
        case .continueStatement:
            state.control = .continueLoop
            return [state]
        case let .returnStatement(value):
            if let value { _ = evaluate(value, &state) }
            state.control = .returned
            return [state]
        case let .block(body):
            return execute(body, [state])
        case let .assume(expression):
            let fact = truth(expression, &state)
            state.assumptions.append(fact)
            state.assumeExpressions.append(expression)
            return [state]
        case let .assert(expression, message):
            checkAssert(expression, message: message, at: statement, state)
            return [state]
        }
    }

    /// Splits a path on `test`, recording the decision for counterexample traces.
    private func fork(_ state: PathState, on test: Z3Bool, _ condition: Expression, construct: String,
                      whenTrue: (PathState) -> [PathState], whenFalse: (PathState) -> [PathState]) -> [PathState] {
        let text = ExpressionText.render(condition)
        switch test.simplified.literalValue {
        case true?:
            return whenTrue(state)
        case false?:
            return whenFalse(state)
        case nil:
            var yes = state, no = state
            yes.conditions.append(test)
            yes.decisions.append(BranchDecision(location: condition.range.start, condition: text, taken: true,
                                                construct: construct))
            no.conditions.append(test.not)
            no.decisions.append(BranchDecision(location: condition.range.start, condition: text, taken: false,
                                               construct: construct))
            return whenTrue(yes) + whenFalse(no)
        }
    }

    /// The value of a term that simplifies to a numeral (a loop bound written as a constant).
    private func constant(_ bits: Z3BitVector) -> UInt64? {
        bits.simplified.numeralValue
    }

    private func loop(_ body: Block, _ paths: [PathState], iterations: Int) -> [PathState] {
        var current = paths
        for _ in 0..<iterations {
            current = iterate(body, current)
            if current.allSatisfy({ $0.control != .normal }) { break }
        }
        return current.map(leaveLoop)
    }

    /// One pass of a loop body: `continue` resumes the next iteration; `break`/`return` paths pass
    /// through untouched (their control flag makes `execute` skip them).
    private func iterate(_ body: Block, _ paths: [PathState]) -> [PathState] {
        let running = paths.filter { $0.control == .normal }
        let stopped = paths.filter { $0.control != .normal }
        return stopped + execute(body, running).map { path in
            var copy = path
            if copy.control == .continueLoop { copy.control = .normal }
            return copy
        }
    }

    private func leaveLoop(_ path: PathState) -> PathState {
        var copy = path
        if copy.control == .breakLoop || copy.control == .continueLoop { copy.control = .normal }
        return copy
    }

    /// `while` unrolled up to the bound. A path still able to loop after that is not proven: it
    /// goes on marked unsupported (its later asserts are UNKNOWN) and the asserts in the body,
    /// whose later iterations were not checked, are UNKNOWN too.
    private func whileLoop(_ condition: Expression, _ body: Block, _ state: PathState) -> [PathState] {
        var active = [state]
        var finished: [PathState] = []
        for _ in 0..<options.loopBound {
            var entering: [PathState] = []
            for path in active {
                var copy = path
                let test = truth(condition, &copy)
                let split = fork(copy, on: test, condition, construct: "while",
                                 whenTrue: { [$0] }, whenFalse: { exited in
                                     finished.append(exited)
                                     return []
                                 })
                entering += split
            }
            let after = execute(body, entering)
            active = []
            for path in after {
                var copy = path
                switch copy.control {
                case .normal, .continueLoop:
                    copy.control = .normal
                    active.append(copy)
                case .breakLoop:
                    copy.control = .normal
                    finished.append(copy)
                case .returned:
                    finished.append(copy)
                }
            }
            if active.isEmpty { return finished }
        }
        finished = mergeIfTooMany(finished)
        for path in active {
            var copy = path
            let test = truth(condition, &copy)
            if test.simplified.literalValue == false {
                finished.append(copy)
                continue
            }
            let canContinue: Bool
            switch session.solve(axioms + copy.conditions + copy.assumptions + [test]) {
            case .unsatisfiable: canContinue = false
            default: canContinue = true
            }
            if canContinue {
                copy.unsupported.append(Unsupported(
                    what: "while loop may run more than \(options.loopBound) iterations (the loop bound)",
                    location: condition.range.start))
                markIncomplete(body, "while loop at \(condition.range.start) may run more than "
                               + "\(options.loopBound) iterations (the loop bound)")
            } else {
                copy.conditions.append(test.not)
            }
            finished.append(copy)
        }
        return finished
    }

    private func markIncomplete(_ body: Block, _ reason: String) {
        for location in Self.assertLocations(in: body) where incompleteAsserts[location] == nil {
            incompleteAsserts[location] = reason
        }
    }

    static func assertLocations(in block: Block) -> [SourceLocation] {
        var found: [SourceLocation] = []
        for statement in block.statements {
            switch statement.kind {
            case .assert:
                found.append(statement.range.start)
            case let .ifStatement(_, then, otherwise):
                found += assertLocations(in: then)
                if let otherwise { found += assertLocations(in: otherwise) }
            case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                 let .forRange(_, _, _, body), let .block(body):
                found += assertLocations(in: body)
            default:
                break
            }
        }
        return found
    }
}
