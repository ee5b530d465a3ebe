import Z3

/// Joining many paths into one. Forked paths grow exponentially with branches in loops
/// (`unroll(10) { if … }` makes 1024); past a threshold the paths of a statement are merged into
/// one state whose values are if-then-else terms over the paths' conditions. Exact, because
/// paths forked from one start have mutually exclusive conditions; the only loss is the branch
/// list shown in a counterexample, which keeps the decisions the paths share.
extension ProbeRun {
    func mergeIfTooMany(_ paths: [PathState]) -> [PathState] {
        guard paths.count > options.mergeThreshold else { return paths }
        var groups: [ControlFlow: [PathState]] = [:]
        for path in paths { groups[path.control, default: []].append(path) }
        return [ControlFlow.normal, .continueLoop, .breakLoop, .returned].compactMap { control in
            groups[control].map(mergeAll)
        }
    }

    func mergeAll(_ paths: [PathState]) -> PathState {
        guard var merged = paths.first, paths.count > 1 else { return paths.first ?? PathState() }
        let guards = paths.map { context.and($0.conditions) }
        // Variables and maps: ite chains, the last path as the default.
        var names = Set<String>()
        for path in paths { names.formUnion(path.variables.keys) }
        for name in names {
            var value: SymbolicValue?
            for (index, path) in paths.enumerated().reversed() {
                guard let own = path.variables[name] else { continue }
                if let current = value {
                    value = select(guards[index], own, current) ?? current
                } else {
                    value = own
                }
            }
            merged.variables[name] = value
        }
        var mapNames = Set<String>()
        for path in paths { mapNames.formUnion(path.maps.keys) }
        for name in mapNames {
            var array = paths.last?.maps[name] ?? initialMap(name)
            for (index, path) in paths.enumerated().reversed().dropFirst() {
                array = guards[index].ite(path.maps[name] ?? initialMap(name), array)
            }
            merged.maps[name] = array
        }
        merged.conditions = [context.or(guards)]
        merged.assumptions = zip(guards, paths).compactMap { guardTerm, path in
            path.assumptions.isEmpty ? nil : guardTerm.implies(context.and(path.assumptions))
        }
        var seenAssumes = Set<Int>()
        merged.assumeExpressions = []
        for path in paths {
            for expression in path.assumeExpressions where seenAssumes.insert(expression.range.start.offset).inserted {
                merged.assumeExpressions.append(expression)
            }
        }
        merged.decisions = commonPrefix(paths.map(\.decisions))
        var unsupported: [Unsupported] = []
        for path in paths {
            for item in path.unsupported where !unsupported.contains(where: {
                $0.what == item.what && $0.location == item.location
            }) {
                unsupported.append(item)
            }
        }
        merged.unsupported = unsupported
        var events = Set<Int>()
        merged.events = paths.flatMap(\.events).filter { events.insert($0).inserted }
        return merged
    }

    private func commonPrefix(_ lists: [[BranchDecision]]) -> [BranchDecision] {
        guard let first = lists.first else { return [] }
        var length = first.count
        for list in lists.dropFirst() {
            var index = 0
            while index < min(length, list.count), list[index].location == first[index].location,
                  list[index].taken == first[index].taken {
                index += 1
            }
            length = index
        }
        return Array(first.prefix(length))
    }
}
