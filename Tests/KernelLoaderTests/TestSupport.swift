import Foundation
import KernelLoader
import XCTest

/// Preconditions of kernel tests: each skips with the reason instead of passing silently.
enum KernelTestSupport {
    static func requireRoot() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load BPF programs") }
    }

    static func requireBpffs() throws {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        let mounted = mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1] == "/sys/fs/bpf" && fields[2] == "bpf"
        }
        guard mounted else {
            throw XCTSkip("bpffs is not mounted at /sys/fs/bpf")
        }
    }

    static func requireTracefs() throws {
        let candidates = ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"]
        guard candidates.contains(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw XCTSkip("tracefs with syscall tracepoints is not available")
        }
    }

    static func tool(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = directory + "/" + name
            if access(path, X_OK) == 0 { return path }
        }
        throw XCTSkip("\(name) is not installed")
    }

    /// Runs a tool, returning (exit code, stdout, stderr).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self),
                String(decoding: errData, as: UTF8.self))
    }

    /// The program ids `bpftool prog list -j` reports.
    static func bpftoolProgramIDs() throws -> [UInt32: [String: Any]] {
        let (code, out, err) = try run(try tool("bpftool"), ["prog", "list", "-j"])
        guard code == 0 else { throw XCTSkip("bpftool prog list failed: \(err)") }
        let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] ?? []
        var result: [UInt32: [String: Any]] = [:]
        for entry in parsed {
            if let id = (entry["id"] as? NSNumber)?.uint32Value { result[id] = entry }
        }
        return result
    }

    /// Polls `condition` until true or `timeout` passes; returns the time it took, nil on timeout.
    static func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if condition() { return clock.now - start }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return condition() ? clock.now - start : nil
    }

    static func temporaryDirectory(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

extension KernelTestSupport {
    /// The first line of `stream` that satisfies `predicate`, or nil after `timeout`.
    static func firstLine(in stream: AsyncStream<OutputLine>, timeout: Duration = .seconds(10),
                          where predicate: @escaping @Sendable (OutputLine) -> Bool) async -> OutputLine? {
        await withTaskGroup(of: OutputLine?.self) { group in
            group.addTask {
                for await line in stream where predicate(line) { return line }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
