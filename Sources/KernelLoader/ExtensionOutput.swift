import Foundation

/// What `kenc logs` shows by default: the extension's own output, as bpftrace prints it in text
/// mode — not bpftrace's diagnostics (the harmless `RLIMIT_MEMLOCK` line, `INFO: node count`,
/// verifier logs, `attached_probes` events) and not the JSON envelopes Ken runs bpftrace with
/// (`-f json`, so the agent can tell output from diagnostics). Those stay available as notes.
public enum ExtensionOutput {
    /// The text the user would have seen for `line`, or nil when the line is a diagnostic.
    /// A map printed at exit or by `print()` becomes several lines, joined with newlines.
    public static func render(_ line: OutputLine) -> String? {
        switch line.kind {
        case .printf:
            return line.text
        case .text:
            // stdout text is the script's (system(), cat()); stderr is bpftrace talking.
            return line.stream == .stdout && !line.text.isEmpty ? line.text : nil
        case .json(let type):
            guard let data = line.text.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            let payload = object["data"]
            switch type {
            case "time", "join", "syscall":
                guard var text = payload as? String else { return nil }
                while text.hasSuffix("\n") { text.removeLast() }
                return text
            case "map":
                return (payload as? [String: Any]).map(renderMaps)
            case "hist":
                return (payload as? [String: Any]).map(renderHistograms)
            case "stats":
                return (payload as? [String: Any]).map(renderStats)
            case "value":
                // print(value): numbers, strings, tuples as `(1, x)`.
                return payload.map(value)
            case "lost_events":
                let lost = (payload as? [String: Any])?["events"].map { "\($0)" } ?? "some"
                return "Lost \(lost) events"
            default:
                // attached_probes, helper_error and anything newer: diagnostics.
                return nil
            }
        }
    }

    // MARK: - Maps

    /// `{"@n": 3}` → `@n: 3`; `{"@c": {"a": 1, "b": 2}}` → one `@c[a]: 1` line per key, in
    /// bpftrace's order (ascending value).
    static func renderMaps(_ maps: [String: Any]) -> String {
        maps.keys.sorted().flatMap { name -> [String] in
            guard let entries = maps[name] as? [String: Any] else { return ["\(name): \(scalar(maps[name]))"] }
            return entries.sorted { order(entries[$0.key], entries[$1.key], $0.key, $1.key) }
                .map { "\(name)[\($0.key)]: \(scalar($0.value))" }
        }.joined(separator: "\n")
    }

    /// `{"@s": {"count": 2, "average": 5, "total": 10}}` → `@s: count 2, average 5, total 10`;
    /// keyed stats give one line per key.
    static func renderStats(_ maps: [String: Any]) -> String {
        func line(_ label: String, _ stats: [String: Any]) -> String {
            "\(label): count \(scalar(stats["count"])), average \(scalar(stats["average"])), total \(scalar(stats["total"]))"
        }
        return maps.keys.sorted().flatMap { name -> [String] in
            guard let value = maps[name] as? [String: Any] else { return [] }
            if value["count"] != nil { return [line(name, value)] }
            return value.keys.sorted().compactMap { key in
                (value[key] as? [String: Any]).map { line("\(name)[\(key)]", $0) }
            }
        }.joined(separator: "\n")
    }

    // MARK: - Histograms

    /// `hist()` and `lhist()` maps: a header line, then one bucket per line with bpftrace's
    /// label, count and a bar of 52 columns scaled to the largest bucket.
    static func renderHistograms(_ maps: [String: Any]) -> String {
        var out: [String] = []
        for name in maps.keys.sorted() {
            if let buckets = maps[name] as? [[String: Any]] {
                out.append("\(name): ")
                out += histogram(buckets)
            } else if let keyed = maps[name] as? [String: Any] {
                for key in keyed.keys.sorted() {
                    guard let buckets = keyed[key] as? [[String: Any]] else { continue }
                    out.append("\(name)[\(key)]: ")
                    out += histogram(buckets)
                    out.append("")
                }
            }
        }
        return out.joined(separator: "\n")
    }

    static func histogram(_ buckets: [[String: Any]]) -> [String] {
        let counts = buckets.map { integer($0["count"]) ?? 0 }
        let most = max(counts.max() ?? 0, 1)
        return zip(buckets, counts).map { bucket, count in
            let label: String
            switch (integer(bucket["min"]), integer(bucket["max"])) {
            case (nil, let high?): label = "(..., \(size(high + 1)))"
            case (let low?, nil): label = "[\(size(low)), ...)"
            case (let low?, let high?): label = "[\(size(low)), \(size(high + 1)))"
            case (nil, nil): label = "[?]"
            }
            let bar = String(repeating: "@", count: Int(count * 52 / most))
            return label.padding(toLength: max(16, label.count), withPad: " ", startingAt: 0)
                + String(repeating: " ", count: max(0, 8 - String(count).count)) + String(count)
                + " |" + bar.padding(toLength: 52, withPad: " ", startingAt: 0) + "|"
        }
    }

    /// bpftrace's bucket bounds: powers of 1024 get K, M, G, T, P suffixes.
    static func size(_ value: Int64) -> String {
        let suffixes = ["", "K", "M", "G", "T", "P"]
        var scaled = value
        var index = 0
        while index < suffixes.count - 1, scaled != 0, scaled % 1024 == 0 {
            scaled /= 1024
            index += 1
        }
        return "\(scaled)\(suffixes[index])"
    }

    // MARK: - Values

    /// A `print()`ed value as bpftrace's text mode writes it.
    static func value(_ payload: Any) -> String {
        if let items = payload as? [Any] { return "(" + items.map(value).joined(separator: ", ") + ")" }
        var text = scalar(payload)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func integer(_ value: Any?) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }

    static func scalar(_ value: Any?) -> String {
        switch value {
        case let number as NSNumber: return number.stringValue
        case let text as String: return text
        case nil: return ""
        default: return "\(value!)"
        }
    }

    /// Ascending by value (numbers numerically), then by key.
    static func order(_ a: Any?, _ b: Any?, _ keyA: String, _ keyB: String) -> Bool {
        if let x = integer(a), let y = integer(b), x != y { return x < y }
        return keyA < keyB
    }
}
