import Foundation

/// One line of `bpftrace -f json` output, reduced to what two runs of the same program must
/// share: its type (`printf`, `map`, `hist`, `stats`, `time`, …) and its data as canonical JSON
/// (object keys sorted, so a map printed in another order of its keys is the same item).
public struct OutputItem: Hashable, Sendable, CustomStringConvertible {
    public var type: String
    /// The `data` member as canonical JSON (a JSON string for printf text).
    public var data: String

    public init(type: String, data: String) {
        self.type = type
        self.data = data
    }

    /// For map-like items (`map`, `hist`, `stats`): the map's name (`@x`); nil otherwise.
    public var mapName: String? {
        guard ["map", "hist", "stats"].contains(type),
              let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
        return object.keys.sorted().first
    }

    /// The item with every integer replaced by `#`: equal shapes differ only in numbers
    /// (latencies, pids, counts of system-wide events).
    public var masked: OutputItem {
        OutputItem(type: type, data: data.replacingOccurrences(of: #"-?[0-9]+"#, with: "#", options: .regularExpression))
    }

    public var description: String { "\(type) \(data)" }
}

/// The parsed output of one run: the items compared, and what is reported beside them.
public struct ParsedOutput: Sendable, Equatable {
    public var items: [OutputItem]
    /// Events the run said it lost (`lost_events` lines), summed.
    public var lostEvents: Int
    /// Non-empty lines that are not JSON objects with a `type` (a bpftrace warning on stdout).
    public var otherLines: [String]

    public init(items: [OutputItem] = [], lostEvents: Int = 0, otherLines: [String] = []) {
        self.items = items
        self.lostEvents = lostEvents
        self.otherLines = otherLines
    }

    /// Parses JSON lines. `attached_probes` (an announcement, not output) and `lost_events`
    /// (counted apart) are not items; blank lines (bpftrace prints some at exit) are skipped.
    public static func parse(_ text: String) -> ParsedOutput {
        var items: [OutputItem] = []
        var lost = 0
        var other: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let type = object["type"] as? String else {
                other.append(line)
                continue
            }
            switch type {
            case "attached_probes":
                continue
            case "lost_events":
                if let data = object["data"] as? [String: Any], let events = data["events"] as? Int { lost += events }
            default:
                items.append(OutputItem(type: type, data: canonicalJSON(object["data"] ?? NSNull())))
            }
        }
        return ParsedOutput(items: items, lostEvents: lost, otherLines: other)
    }

    /// `value` as JSON with sorted object keys; fragments (strings, numbers) allowed.
    static func canonicalJSON(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
            return "\(value)"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Without the printf and time lines that name `pid` as a number of its own (another
    /// process's view of the harness itself). Maps are kept whole.
    public func removingLines(mentioning pid: Int32) -> ParsedOutput {
        let pattern = "(^|[^0-9])\(pid)([^0-9]|$)"
        var copy = self
        copy.items = items.filter { item in
            item.type != "printf" || item.data.range(of: pattern, options: .regularExpression) == nil
        }
        return copy
    }

    /// The printf text of every printf item, in order (for behaviour checks' regular expressions).
    public var printedText: String {
        items.map { item -> String in
            if item.type == "printf", let text = try? JSONSerialization.jsonObject(with: Data(item.data.utf8), options: .fragmentsAllowed) as? String {
                return text
            }
            return item.description + "\n"
        }.joined()
    }
}

/// How closely two runs' outputs agree, from exact to not at all. Only `equal` and
/// `equalUnordered` count as "output equal to bpftrace's"; the weaker levels say how far apart
/// two outputs are when the program's own output is not deterministic (system-wide events,
/// times, latencies).
public enum Agreement: String, Sendable, Codable, Comparable, CaseIterable {
    /// The same items in the same order.
    case equal
    /// The same items, in another order. bpftrace's own order is unspecified across CPUs (one
    /// perf buffer per CPU) and for the maps it prints at exit; Ken's ring buffer is ordered.
    case equalUnordered = "equal up to order"
    /// The same items once every number is masked (latencies, counts of other processes' events).
    case sameShape = "same up to numbers"
    /// The same maps printed (by name and kind) and the same kinds of lines, values aside.
    case sameMaps = "same maps"
    case different

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Agreement, b: Agreement) -> Bool { a.rank < b.rank }

    /// Counts as "output equal to bpftrace's" for the coverage figure.
    public var isEqual: Bool { self <= .equalUnordered }

    /// Compares `native` with `reference` (bpftrace's), strongest agreement first.
    public static func of(_ native: ParsedOutput, _ reference: ParsedOutput) -> Agreement {
        let a = native.items, b = reference.items
        if a == b { return .equal }
        if multiset(a) == multiset(b) { return .equalUnordered }
        if multiset(a.map(\.masked)) == multiset(b.map(\.masked)) { return .sameShape }
        if summary(a) == summary(b) { return .sameMaps }
        return .different
    }

    private static func multiset(_ items: [OutputItem]) -> [OutputItem: Int] {
        items.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// Map names with their kinds, and the kinds of the other lines.
    private static func summary(_ items: [OutputItem]) -> Set<String> {
        Set(items.map { item in item.mapName.map { "\(item.type) \($0)" } ?? item.type })
    }
}

/// A readable account of where two outputs differ: the items only one side printed.
public func describeDifference(native: ParsedOutput, reference: ParsedOutput, limit: Int = 6) -> String {
    var onlyNative = native.items
    var onlyReference: [OutputItem] = []
    for item in reference.items {
        if let index = onlyNative.firstIndex(of: item) { onlyNative.remove(at: index) } else { onlyReference.append(item) }
    }
    func clip(_ items: [OutputItem]) -> String {
        items.prefix(limit).map { "    " + String($0.description.prefix(240)) }.joined(separator: "\n")
            + (items.count > limit ? "\n    … \(items.count - limit) more" : "")
    }
    if onlyNative.isEmpty, onlyReference.isEmpty { return "  same items, other order" }
    return "  only native:\n\(clip(onlyNative))\n  only bpftrace:\n\(clip(onlyReference))"
}
