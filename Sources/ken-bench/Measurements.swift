import Foundation
import KernelInfo

/// One row of the benchmark table: what was measured, over how many samples, and the numbers.
struct Row: Codable {
    var section: String
    var metric: String
    var samples: Int
    var p50: Double?
    var p95: Double?
    var p99: Double?
    var value: Double?
    var unit: String
    var target: String?
    var note: String?
}

/// Durations in milliseconds, summarised by percentile (nearest-rank).
struct Samples {
    private(set) var values: [Double] = []

    mutating func add(_ milliseconds: Double) { values.append(milliseconds) }

    mutating func time<T>(_ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await body()
        add(milliseconds(clock.now - start))
        return result
    }

    func percentile(_ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var count: Int { values.count }
    var total: Double { values.reduce(0, +) }

    func row(_ section: String, _ metric: String, target: String? = nil, note: String? = nil) -> Row {
        Row(section: section, metric: metric, samples: count, p50: percentile(50), p95: percentile(95),
            p99: percentile(99), value: nil, unit: "ms", target: target, note: note)
    }
}

func milliseconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
}

/// Resident memory of this process, from /proc/self/statm (pages × page size).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The table as printed: one line per row, aligned, with the percentiles that apply.
func renderTable(_ rows: [Row]) -> String {
    func number(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value >= 100 { return String(format: "%.0f", value) }
        if value >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }
    let header = ["section", "metric", "n", "p50", "p95", "p99", "value", "unit", "target"]
    var lines: [[String]] = [header]
    for row in rows {
        lines.append([row.section, row.metric, String(row.samples), number(row.p50), number(row.p95),
                      number(row.p99), number(row.value), row.unit, row.target ?? ""])
    }
    let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
    var out = lines.map { line in
        line.enumerated().map { index, cell in
            index < 2 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                      : String(repeating: " ", count: widths[index] - cell.count) + cell
        }.joined(separator: "  ")
    }
    out.insert(String(repeating: "-", count: out[0].count), at: 1)
    let notes = rows.compactMap { row in row.note.map { "  \(row.section)/\(row.metric): \($0)" } }
    if !notes.isEmpty { out.append("notes:"); out += notes }
    return out.joined(separator: "\n")
}

/// A short description of the machine the numbers come from.
func machineDescription() -> String {
    var parts: [String] = []
    if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        .split(separator: "\n").first(where: { $0.hasPrefix("model name") }) {
        parts.append(cpu.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
    }
    parts.append("\(ProcessInfo.processInfo.activeProcessorCount) cores")
    parts.append(String(format: "%.0f GiB", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824))
    parts.append("Linux \(KernelInfo.runningRelease())")
    return parts.joined(separator: ", ")
}
