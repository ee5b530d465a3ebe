import Foundation

/// The agent's own notes about one extension ("attached", "bpftrace exited with code 1",
/// "restarted"), appended to `<extension dir>/agent.log` so `kenc logs` shows them interleaved
/// with the extension's output, and they survive agent restarts. Bounded: past `maxBytes` the
/// file is rotated to `agent.log.1`.
struct AgentNotes: Sendable {
    let directory: String
    let maxBytes: Int

    var path: String { directory + "/agent.log" }

    /// Appends one line "<unix ms> <text>"; newlines in `text` are flattened.
    func append(_ text: String, at time: Date = Date()) {
        let ms = Int64((time.timeIntervalSince1970 * 1000).rounded())
        let line = "\(ms) \(text.replacingOccurrences(of: "\n", with: " | "))\n"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let size = attributes[.size] as? Int, size > maxBytes {
            try? FileManager.default.removeItem(atPath: path + ".1")
            try? FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        }
        if let handle = FileHandle(forWritingAtPath: path) {
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data(line.utf8))
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(line.utf8), attributes: [.posixPermissions: 0o640])
        }
    }

    /// All notes kept, oldest first, with their times.
    func read() -> [(time: Int64, text: String)] {
        var result: [(Int64, String)] = []
        for file in [path + ".1", path] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let ms = Int64(parts[0]) else { continue }
                result.append((ms, String(parts[1])))
            }
        }
        return result
    }
}
