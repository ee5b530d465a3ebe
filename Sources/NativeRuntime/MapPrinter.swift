import BPF
import NativeABI

/// Prints one script map the way bpftrace 0.17 does with `-f json`: reads every key, adds up the
/// per-CPU slots as the plan's value kind says, orders the entries as bpftrace does (by key,
/// then by value: ascending count/sum/value, average for avg/stats, total count for
/// histograms), keeps the `top` largest, divides by `divisor`, and writes one JSON line whose
/// type is `map`, `stats` or `hist`. An empty map prints nothing.
struct MapPrinter {
    let spec: NativeMap
    let map: BPFMap
    let symbols: Symbolizer

    typealias Entry = MapText.Entry

    func line(top: Int = 0, divisor: Int = 0) throws -> String? {
        MapText(spec: spec).line(try read(), top: top, divisor: divisor)
    }

    // MARK: Reading

    func read() throws -> [Entry] {
        var entries: [Entry] = []
        for keyBytes in try map.keys() {
            guard let slots = try map.lookupPerCPU(keyBytes) else { continue }
            let key: [PrintedValue] = keyBytes.withUnsafeBytes { raw in
                let reader = ByteReader(bytes: raw)
                return spec.keyFields.map { reader.value($0.type, at: $0.offset, symbols: symbols) }
            }
            entries.append(Entry(key: key, value: aggregate(slots)))
        }
        return entries
    }

    func aggregate(_ slots: [[UInt8]]) -> MapText.Aggregate {
        func each<T>(_ body: (ByteReader) -> T) -> [T] {
            slots.map { slot in slot.withUnsafeBytes { body(ByteReader(bytes: $0)) } }
        }
        switch spec.value {
        case let .value(type):
            return .scalar(each { $0.value(type, at: 0, symbols: symbols) }.first ?? .signed(0))
        case .count, .sum:
            return .scalar(.signed(each { $0.s64(0) }.reduce(0, &+)))
        case .min, .max:
            let set = each { ($0.s64(0), $0.u64(8)) }.filter { $0.1 != 0 }.map(\.0)
            let value = spec.value == .min ? set.min() : set.max()
            return .scalar(.signed(value ?? 0))
        case .avg, .stats:
            let parts = each { ($0.s64(0), $0.s64(8)) }
            return .stats(count: parts.map(\.1).reduce(0, &+), total: parts.map(\.0).reduce(0, &+))
        case .hist, .linearHist:
            let count = spec.valueSize / 8
            var sums = [UInt64](repeating: 0, count: count)
            for buckets in each({ reader in (0..<count).map { reader.u64(8 * $0) } }) {
                for i in 0..<count { sums[i] &+= buckets[i] }
            }
            return .buckets(sums)
        }
    }

    // MARK: clear / zero

    /// `clear(@m)`: every key deleted.
    func clear() throws {
        for key in try map.keys() { try map.delete(key) }
    }

    /// `zero(@m)`: every value set to zero, keys kept.
    func zero() throws {
        let zeros = [UInt8](repeating: 0, count: map.valueSize)
        for key in try map.keys() { try map.update(key, zeros) }
    }
}

/// A map's entries as bpftrace prints them: ordering, `top`, `div`, JSON.
struct MapText {
    let spec: NativeMap

    /// One entry after adding up the CPUs.
    enum Aggregate: Equatable {
        case scalar(PrintedValue)
        case stats(count: Int64, total: Int64)
        case buckets([UInt64])
    }

    struct Entry: Equatable {
        var key: [PrintedValue]
        var value: Aggregate
    }

    /// The JSON line, or nil for an empty map (bpftrace prints nothing for it) — except a
    /// `count()` map without keys, which bpftrace 0.17 prints as 0 when empty (never counted,
    /// or cleared: pidpersec.bt's END), unlike every other empty map (checked with it).
    func line(_ read: [Entry], top: Int = 0, divisor: Int = 0) -> String? {
        if read.isEmpty, spec.keyFields.isEmpty, spec.value == .count {
            return JSONText.line(type: lineType, data: "{" + JSONText.quote(spec.displayName) + ": 0}")
        }
        guard !read.isEmpty else { return nil }
        var entries = order(read)
        if top > 0, entries.count > top { entries = Array(entries.suffix(top)) }
        let payload: String
        if spec.keyFields.isEmpty {
            payload = render(entries[0].value, divisor: divisor)
        } else {
            payload = "{" + entries.map { entry in
                JSONText.quote(entry.key.map(\.mapKeyText).joined(separator: ",")) + ": " + render(entry.value, divisor: divisor)
            }.joined(separator: ", ") + "}"
        }
        return JSONText.line(type: lineType, data: "{" + JSONText.quote(spec.displayName) + ": " + payload + "}")
    }

    var lineType: String {
        switch spec.value {
        case .avg, .stats: return "stats"
        case .hist, .linearHist: return "hist"
        default: return "map"
        }
    }

    func order(_ entries: [Entry]) -> [Entry] {
        let byKey = entries.enumerated().sorted { a, b in
            let c = Self.compare(a.element.key, b.element.key)
            return c != 0 ? c < 0 : a.offset < b.offset
        }.map(\.element)
        return byKey.enumerated().sorted { a, b in
            let x = metric(a.element.value), y = metric(b.element.value)
            if let x, let y, x != y { return x < y }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// What bpftrace sorts a map's entries by; nil for values it does not sort (strings).
    func metric(_ value: Aggregate) -> Int64? {
        switch value {
        case let .scalar(v): return v.integer
        case let .stats(count, total): return count == 0 ? 0 : total / count
        case let .buckets(b): return Int64(bitPattern: b.reduce(0, &+))
        }
    }

    static func compare(_ a: [PrintedValue], _ b: [PrintedValue]) -> Int {
        for (x, y) in zip(a, b) {
            if let i = x.integer, let j = y.integer {
                if i != j { return i < j ? -1 : 1 }
            } else {
                let s = x.keyText, t = y.keyText
                if s != t { return Array(s.utf8).lexicographicallyPrecedes(Array(t.utf8)) ? -1 : 1 }
            }
        }
        return 0
    }

    // MARK: Rendering

    func render(_ value: Aggregate, divisor: Int) -> String {
        switch value {
        case let .scalar(v):
            if divisor > 1, case let .signed(n) = v { return String(n / Int64(divisor)) }
            if divisor > 1, case let .unsigned(n) = v { return String(n / UInt64(divisor)) }
            return v.json
        case let .stats(count, total):
            var average = count == 0 ? 0 : total / count
            if divisor > 1 { average /= Int64(divisor) }
            if spec.value == .avg { return String(average) }
            return "{\"count\": \(count), \"average\": \(average), \"total\": \(total)}"
        case let .buckets(counts):
            guard let first = counts.firstIndex(where: { $0 != 0 }), let last = counts.lastIndex(where: { $0 != 0 }) else {
                return "[]"
            }
            return "[" + (first...last).map { bucket($0, counts[$0]) }.joined(separator: ", ") + "]"
        }
    }

    func bucket(_ index: Int, _ count: UInt64) -> String {
        switch spec.value {
        case let .linearHist(low, high, step) where step > 0:
            let buckets = NativeMapValue.linearHistBuckets(min: low, max: high, step: step)
            if index == 0 { return "{\"max\": \(low &- 1), \"count\": \(count)}" }
            if index == buckets - 1 { return "{\"min\": \(high), \"count\": \(count)}" }
            let start = low &+ Int64(index - 1) &* step
            return "{\"min\": \(start), \"max\": \(start &+ step &- 1), \"count\": \(count)}"
        default:
            if index == 0 { return "{\"max\": -1, \"count\": \(count)}" }
            if index == 1 { return "{\"min\": 0, \"max\": 0, \"count\": \(count)}" }
            let k = UInt64(index - 2)
            let low: UInt64 = 1 << k
            let high: UInt64 = k >= 63 ? .max : (1 << (k + 1)) - 1
            return "{\"min\": \(low), \"max\": \(high), \"count\": \(count)}"
        }
    }

}
