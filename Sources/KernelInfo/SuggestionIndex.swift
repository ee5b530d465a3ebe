import Foundation

/// "Did you mean …" over a fixed set of names, by Levenshtein distance.
///
/// Names are bucketed by UTF-8 length so a query only looks at names whose length is within
/// the allowed distance; each comparison computes only the diagonal band of the DP that can
/// stay within the bound, in two reused rows, and stops as soon as a whole row exceeds it.
/// Timings over the ~56k kernel function names: KernelInfoTests.testLoadAndSuggestionSpeed.
public struct SuggestionIndex: Sendable {
    private let buckets: [Int: [[UInt8]]]

    public init(_ names: some Sequence<String>) {
        var buckets: [Int: [[UInt8]]] = [:]
        for name in names {
            let bytes = Array(name.utf8)
            buckets[bytes.count, default: []].append(bytes)
        }
        self.buckets = buckets
    }

    /// Up to `limit` names at the smallest distance from `query` (alphabetical), the query
    /// itself excluded. The default bound grows with the query: 2 for short names, up to 4.
    public func suggestions(for query: String, limit: Int = 3, maxDistance: Int? = nil) -> [String] {
        let q = Array(query.utf8)
        let bound = maxDistance ?? max(2, min(4, q.count / 3))
        var found: [(Int, [UInt8])] = []
        var rows = [Int](repeating: 0, count: 2 * (q.count + bound + 2))
        rows.withUnsafeMutableBufferPointer { rowBuffer in
            q.withUnsafeBufferPointer { qp in
                for length in max(0, q.count - bound)...(q.count + bound) {
                    guard let bucket = buckets[length] else { continue }
                    for candidate in bucket {
                        let d = candidate.withUnsafeBufferPointer { cp in
                            Self.distance(qp, cp, bound: bound, rows: rowBuffer)
                        }
                        if let d, d > 0 { found.append((d, candidate)) }
                    }
                }
            }
        }
        // Only the nearest ones: a distance-1 typo fix should not be diluted by distance-3 names.
        guard let best = found.map(\.0).min() else { return [] }
        found = found.filter { $0.0 == best }
        found.sort { $0.1.lexicographicallyPrecedes($1.1) }
        return found.prefix(limit).map { String(decoding: $0.1, as: UTF8.self) }
    }

    /// Levenshtein distance of `a` and `b` if it is at most `bound`, else nil. `rows` must hold
    /// at least `2 * (b.count + 1)` integers.
    static func distance(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, bound: Int,
                         rows: UnsafeMutableBufferPointer<Int>) -> Int? {
        let n = a.count, m = b.count
        if abs(n - m) > bound { return nil }
        if n == 0 { return m }
        if m == 0 { return n }
        guard rows.count >= 2 * (m + 1), let base = rows.baseAddress else { return nil }
        var previous = base
        var current = base + (m + 1)
        let outside = bound + 1
        for j in 0...m { previous[j] = j <= bound ? j : outside }
        for i in 1...n {
            let lo = max(1, i - bound), hi = min(m, i + bound)
            current[0] = i <= bound ? i : outside
            if lo > 1 { current[lo - 1] = outside }
            var rowMin = current[0] < outside && lo == 1 ? current[0] : outside
            let ai = a[i - 1]
            if lo <= hi {
                for j in lo...hi {
                    let cost = ai == b[j - 1] ? 0 : 1
                    var v = previous[j - 1] + cost
                    let up = (j <= i - 1 + bound ? previous[j] : outside) + 1
                    if up < v { v = up }
                    let left = current[j - 1] + 1
                    if left < v { v = left }
                    if v > outside { v = outside }
                    current[j] = v
                    if v < rowMin { rowMin = v }
                }
            }
            if hi < m { current[hi + 1] = outside }
            if rowMin > bound { return nil }
            swap(&previous, &current)
        }
        let d = previous[m]
        return d <= bound ? d : nil
    }
}

/// Suggestion indexes built on first use per key (a probe kind, a BTF record kind), then
/// shared: building one walks up to ~60k names, so it is done once and only when a "did you
/// mean" is asked for.
final class SuggestionIndexCache<Key: Hashable & Sendable>: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var storage: [Key: SuggestionIndex] = [:]

    func index(for key: Key, build: () -> SuggestionIndex) -> SuggestionIndex {
        lock.lock()
        defer { lock.unlock() }
        if let hit = storage[key] { return hit }
        let index = build()
        storage[key] = index
        return index
    }
}
