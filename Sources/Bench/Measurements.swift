import Foundation
import KernelInfo

/// One row of the benchmark table: what was measured, over how many samples, and the numbers.
public struct Row: Codable, Sendable {
    public var section: String
    public var metric: String
    public var samples: Int
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var value: Double?
    public var unit: String
    public var target: String?
    public var note: String?

    public init(section: String, metric: String, samples: Int, p50: Double? = nil, p95: Double? = nil,
                p99: Double? = nil, value: Double? = nil, unit: String, target: String? = nil, note: String? = nil) {
        self.section = section
        self.metric = metric
        self.samples = samples
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.value = value
        self.unit = unit
        self.target = target
        self.note = note
    }
}

/// Durations in milliseconds, summarised by percentile (nearest-rank).
public struct Samples: Sendable {
    public private(set) var values: [Double] = []

    public init() {}

    public mutating func add(_ milliseconds: Double) { values.append(milliseconds) }

    public mutating func time<T>(_ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await body()
        add(milliseconds(clock.now - start))
        return result
    }

    public func percentile(_ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    public var count: Int { values.count }
    public var total: Double { values.reduce(0, +) }

    public func row(_ section: String, _ metric: String, target: String? = nil, note: String? = nil) -> Row {
        Row(section: section, metric: metric, samples: count, p50: percentile(50), p95: percentile(95),
            p99: percentile(99), value: nil, unit: "ms", target: target, note: note)
    }
}

public func milliseconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
}

/// Resident memory of this process, from /proc/self/statm (pages × page size).
public func residentBytes() -> Int { residentBytes(statm: "/proc/self/statm") }

/// Resident memory of another process (a bpftrace child), from /proc/<pid>/statm.
public func residentBytes(pid: Int32) -> Int { residentBytes(statm: "/proc/\(pid)/statm") }

func residentBytes(statm: String) -> Int {
    guard let text = try? String(contentsOfFile: statm, encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The table as printed: one line per row, aligned, with the percentiles that apply.
public func renderTable(_ rows: [Row]) -> String {
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
public func machineDescription() -> String {
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
