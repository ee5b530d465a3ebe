/// Before 0.22, scratch variables live for the whole probe; from 0.22, `let` declares a
/// variable scoped to its block. Two `let $x` in sibling blocks are then two variables (maybe
/// of different types), which an older bpftrace would merge into one. This pass renames each
/// repeated `let` declaration (and the uses it governs) to a fresh name so the merge cannot
/// happen. Only `let` counts: plain assignments keep their meaning in every dialect, so
/// programs written for probe-wide scoping are left untouched.
enum LetScoping {
    static func renameRedeclarations(in probe: Probe) -> Probe {
        var state = State(used: variableNames(in: probe))
        var p = probe
        p.predicate = probe.predicate.map { state.rename($0) }
        p.body = state.block(probe.body)
        return p
    }

    private static func variableNames(in probe: Probe) -> Set<String> {
        var names: Set<String> = []
        _ = TreeTransform(
            expression: { e in
                if case let .variable(name) = e.kind { names.insert(name) }
                return e
            },
            statement: { s in
                switch s.kind {
                case let .letDeclaration(name, _, _), let .forMap(name, _, _), let .forRange(name, _, _, _):
                    names.insert(name)
                default:
                    break
                }
                return [s]
            }).apply(probe)
        return names
    }

    private struct State {
        var used: Set<String>
        var declared: Set<String> = []
        var scopes: [[String: String]] = [[:]]

        mutating func fresh(_ name: String) -> String {
            var n = 2
            while used.contains("\(name)_\(n)") { n += 1 }
            let result = "\(name)_\(n)"
            used.insert(result)
            return result
        }

        func lookup(_ name: String) -> String {
            for scope in scopes.reversed() {
                if let renamed = scope[name] { return renamed }
            }
            return name
        }

        func rename(_ e: Expression) -> Expression {
            e.transformed { node in
                guard case let .variable(name) = node.kind else { return node }
                var c = node
                c.kind = .variable(lookup(name))
                return c
            }
        }

        mutating func block(_ b: Block) -> Block {
            scopes.append([:])
            defer { scopes.removeLast() }
            var out = b
            out.statements = b.statements.map { statement($0) }
            return out
        }

        mutating func statement(_ s: Statement) -> Statement {
            var c = s
            switch s.kind {
            case let .letDeclaration(name, type, value):
                let renamedValue = value.map { rename($0) }
                let newName = declared.contains(name) ? fresh(name) : name
                declared.insert(name)
                scopes[scopes.count - 1][name] = newName
                c.kind = .letDeclaration(name: newName, type: type, value: renamedValue)
            case let .expression(e):
                c.kind = .expression(rename(e))
            case let .assignment(t, op, v):
                c.kind = .assignment(target: rename(t), op: op, value: rename(v))
            case let .ifStatement(cond, then, otherwise):
                c.kind = .ifStatement(condition: rename(cond), then: block(then), else: otherwise.map { block($0) })
            case let .unroll(count, body):
                c.kind = .unroll(count: rename(count), body: block(body))
            case let .whileLoop(cond, body):
                c.kind = .whileLoop(condition: rename(cond), body: block(body))
            case let .forMap(v, map, body):
                c.kind = .forMap(variable: lookup(v), map: rename(map), body: block(body))
            case let .forRange(v, start, end, body):
                c.kind = .forRange(variable: lookup(v), start: rename(start), end: rename(end), body: block(body))
            case .breakStatement, .continueStatement:
                break
            case let .returnStatement(e):
                c.kind = .returnStatement(e.map { rename($0) })
            case let .block(b):
                c.kind = .block(block(b))
            case let .assume(e):
                c.kind = .assume(rename(e))
            case let .assert(e, message):
                c.kind = .assert(rename(e), message: message)
            }
            return c
        }
    }
}
