import BpftraceSyntax
import Z3

/// Something the rest of the system may do to a run while it executes, kept so that a
/// counterexample can say which interleaving or which full map makes the assert fail.
enum WorldEvent {
    /// A map read that another run's store may have overtaken: `value` instead of `own`.
    struct Interference {
        var flag: Z3Bool
        var value: Z3BitVector
        var own: Z3BitVector
        var shape: ValueShape
        var map: String
        var candidates: [(site: MapWriters.Site, matches: Z3Bool, crossCPU: Bool)]
        var evictionMatches: Z3Bool?
        var previous: MapAccess?
        var read: SourceLocation
    }

    /// An insert that fails because the map may already hold max_entries other keys.
    struct FullMap {
        var flag: Z3Bool
        var map: String
        var capacity: Int
        var write: SourceLocation
    }

    /// A read of memory behind a pointer that the run already read at the same place.
    struct Reread {
        var text: String
        var first: (location: SourceLocation, value: SymbolicValue)
        var again: (location: SourceLocation, value: SymbolicValue)
    }

    case interference(Interference)
    case fullMap(FullMap)
    case reread(Reread)
}

/// The last access of one run to a map, for "between the write at … and the read at …".
struct MapAccess {
    var isWrite: Bool
    var location: SourceLocation
}

extension ProbeRun {
    // MARK: Maps shared with other runs

    /// The value a read of `@map[key]` sees: this run's own view (`own`), or a value another run
    /// may have stored since this run last touched the entry. Only stores that can run
    /// concurrently and can reach this key count, and only values they can store.
    ///
    /// The value read becomes this run's view of the entry, so a later read sees it again unless
    /// it too is overtaken.
    func interfered(_ own: Z3BitVector, map: String, key: Z3BitVector, readKeys: [Expression],
                    at read: SourceLocation, _ state: inout PathState) -> Z3BitVector {
        defer { state.lastMapAccess[map] = MapAccess(isWrite: false, location: read) }
        let shape = mapShapes[map] ?? MapShape.defaultShape
        var candidates: [(site: MapWriters.Site, matches: Z3Bool, crossCPU: Bool)] = []
        let value = context.bitVectorConstant(uniqueName("@\(map) by another run"), width: shape.valueBits)
        for site in writers.sites[map] ?? [] {
            let (crossCPU, nested) = writers.canInterfere(site, readKeys: readKeys, readerKinds: probeKinds)
            guard crossCPU || nested else { continue }
            var matches: [Z3Bool] = []
            if let keys = site.keys, keys.allSatisfy({ MapWriters.isConstant($0, constants) }) {
                var scratch = PathState()
                if let written = mapKey(map, keys, Expression(.map(name: map, keys: keys)), &scratch),
                   scratch.unsupported.isEmpty {
                    matches.append(written.eq(key))
                }
            }
            switch site.stored {
            case .zero:
                matches.append(value.eq(context.bitVector(UInt64(0), width: shape.valueBits)))
            case let .constant(expression):
                var scratch = PathState()
                if let bits = encode(evaluate(expression, &scratch), shape.value), scratch.unsupported.isEmpty,
                   bits.width == value.width {
                    matches.append(value.eq(bits))
                }
            case .any:
                break
            }
            candidates.append((site, context.and(matches), crossCPU))
        }
        var eviction: Z3Bool?
        if writers.leastRecentlyUsed.contains(map), writers.sites[map]?.contains(where: \.inserts) == true {
            eviction = value.eq(context.bitVector(UInt64(0), width: shape.valueBits))
        }
        guard !candidates.isEmpty || eviction != nil else { return own }
        let flag = context.boolConstant(uniqueName("@\(map) overtaken"))
        addAxiom(flag.implies(context.or(candidates.map(\.matches) + (eviction.map { [$0] } ?? []))))
        state.events.append(events.count)
        events.append(.interference(WorldEvent.Interference(
            flag: flag, value: value, own: own, shape: shape.value, map: map, candidates: candidates,
            evictionMatches: eviction, previous: state.lastMapAccess[map], read: read)))
        let seen = flag.ite(value, own)
        state.maps[map] = (state.maps[map] ?? initialMap(map)).store(key, seen)
        return seen
    }

    /// `current` with `@map[key] = bits`, unless the map may be full: then the insert may fail
    /// silently (the key was absent, so it still reads as zero).
    func storedUnlessFull(_ current: Z3Array, map: String, key: Z3BitVector, bits: Z3BitVector,
                          at write: SourceLocation, _ state: inout PathState) -> Z3Array {
        state.lastMapAccess[map] = MapAccess(isWrite: true, location: write)
        let stored = current.store(key, bits)
        guard writers.mayBeFull(map) else { return stored }
        let shape = mapShapes[map] ?? MapShape.defaultShape
        let flag = context.boolConstant(uniqueName("@\(map) full"))
        addAxiom(flag.implies(current.select(key).eq(context.bitVector(UInt64(0), width: shape.valueBits))))
        state.events.append(events.count)
        events.append(.fullMap(WorldEvent.FullMap(flag: flag, map: map, capacity: writers.capacity(of: map),
                                                  write: write)))
        return flag.ite(current, stored)
    }

    // MARK: Memory behind pointers

    /// A fresh value for a read of memory behind a pointer: user memory can be changed by
    /// another thread and kernel memory by another CPU between two reads, and a read can fault
    /// (bpftrace then gives zero / an empty string), so no two reads are tied together.
    func pointerRead(_ text: String, shape: ValueShape, at location: SourceLocation,
                     _ state: inout PathState) -> SymbolicValue {
        let value = freshValue(named: uniqueName("read " + text), shape: shape, valueBits: nil)
        if let first = firstReads[text] {
            remember("\(text) (read again at \(location.line):\(location.column))", value)
            state.events.append(events.count)
            events.append(.reread(WorldEvent.Reread(text: text, first: first, again: (location, value))))
        } else {
            firstReads[text] = (location, value)
            remember(text, value)
        }
        return value
    }

    // MARK: Explaining a counterexample

    /// The events of `state`'s path that the model makes happen, in words.
    func explain(_ state: PathState, _ model: Z3Model) -> [String] {
        var lines: [String] = []
        for index in state.events where events.indices.contains(index) {
            switch events[index] {
            case let .interference(event):
                guard model.evaluate(event.flag) == true,
                      model.evaluate(event.value.eq(event.own)) != true else { continue }
                let stored = Self.format(ModelItem(name: "", term: event.value, kind: Self.itemKind(event.shape)), model)
                let between = event.previous.map { previous in
                    "between the \(previous.isWrite ? "write" : "read") at \(Self.lineColumn(previous.location)) and"
                } ?? "before"
                let access = "\(between) the read at \(Self.lineColumn(event.read))"
                if let chosen = event.candidates.first(where: { model.evaluate($0.matches) == true }) {
                    lines.append("\(who(chosen.site, crossCPU: chosen.crossCPU)) may "
                                 + "\(what(chosen.site, stored: stored)) \(access)")
                } else if let eviction = event.evictionMatches, model.evaluate(eviction) == true {
                    lines.append("LRU map @\(event.map) may evict this entry (reads 0) \(access)")
                }
            case let .fullMap(event):
                guard model.evaluate(event.flag) == true else { continue }
                lines.append("map @\(event.map) may be full (\(event.capacity) entries): the update at "
                             + "\(Self.lineColumn(event.write)) does not take effect")
            case let .reread(event):
                let first = Self.items(named: event.text, event.first.value)
                let again = Self.items(named: event.text, event.again.value)
                guard first.count == again.count, !first.isEmpty else { continue }
                let differ = zip(first, again).contains { a, b in
                    model.evaluate(a.term.eq(b.term)) != true
                }
                guard differ else { continue }
                let shown = again.map { Self.format($0, model) }.joined(separator: ", ")
                lines.append("\(event.text) is read again at \(Self.lineColumn(event.again.location)) (first at "
                             + "\(Self.lineColumn(event.first.location))) and gives \(shown): memory behind a "
                             + "pointer may change between reads (another thread or CPU) or the read may fault")
            }
        }
        return lines
    }

    private func who(_ site: MapWriters.Site, crossCPU: Bool) -> String {
        if site.probeIndex == probeIndex {
            return crossCPU ? "this probe (\(site.probeName)) on another CPU" : "a nested run of this probe (\(site.probeName))"
        }
        return "another probe (\(site.probeName))"
    }

    private func what(_ site: MapWriters.Site, stored: String) -> String {
        let at = "at \(Self.lineColumn(site.location))"
        switch site.stored {
        case .zero:
            return site.keys == nil ? "clear @\(site.map) (\(at))" : "delete @\(site.map)[…] (\(at)), so it reads 0,"
        case .constant, .any:
            return "store \(stored) to @\(site.map) (\(at))"
        }
    }

    static func lineColumn(_ location: SourceLocation) -> String { "\(location.line):\(location.column)" }

    static func itemKind(_ shape: ValueShape) -> ModelItem.Kind {
        switch shape {
        case .string: return .string
        case .pointer: return .pointer
        case let .integer(_, signed): return .integer(signed: signed)
        default: return .integer(signed: false)
        }
    }
}
