import Foundation
import KenProto
import KernelLoader
import Registry

extension ExtensionSupervisor {
    static func logLine(id: String, _ line: OutputLine) -> Ken_V1_LogLine {
        Ken_V1_LogLine.with {
            $0.extensionID = id
            $0.timeUnixMs = Int64((line.timestamp.timeIntervalSince1970 * 1000).rounded())
            $0.stream = line.stream.rawValue
            $0.text = line.text
        }
    }

    /// What the extension's log files keep: the agent's notes, then bpftrace's stderr, then its
    /// stdout (the files carry no timestamps, so the streams cannot be interleaved exactly);
    /// the last `tail` lines (0: all).
    func logLines(id: String, tail: Int) -> [Ken_V1_LogLine] {
        let directory = configuration.extensionDirectory(id: id)
        let now = Date()
        var lines: [Ken_V1_LogLine] = notes(id).read().map { note in
            Ken_V1_LogLine.with {
                $0.extensionID = id
                $0.timeUnixMs = note.time
                $0.stream = "agent"
                $0.text = note.text
            }
        }
        let recent = BpftraceProcess.recentOutput(directory: directory, maxBytes: configuration.policy.logMaxBytes)
        for (text, stream) in [(recent.stderr, OutputLine.Stream.stderr), (recent.stdout, .stdout)] {
            for raw in text.split(separator: "\n") {
                lines.append(Self.logLine(id: id, OutputLine.decode(String(raw), stream: stream, timestamp: now)))
            }
        }
        return tail > 0 ? Array(lines.suffix(tail)) : lines
    }

    /// Streams new output lines until the extension's process ends or the caller is cancelled.
    /// Returns a final note saying why the stream ended.
    func follow(id: String, send: @Sendable (Ken_V1_LogLine) async throws -> Void) async throws -> Ken_V1_LogLine {
        let process = running.withLock { $0[id]?.process }
        func note(_ text: String) -> Ken_V1_LogLine {
            Ken_V1_LogLine.with {
                $0.extensionID = id
                $0.timeUnixMs = Registry.nowUnixMs()
                $0.stream = "agent"
                $0.text = text
            }
        }
        guard let process else {
            let state = (try? registry.get(id: id, withObject: false))?.state.rawValue ?? "unknown"
            return note("no live output to follow: the extension is \(state)")
        }
        for await line in process.lines() {
            try Task.checkCancellation()
            try await send(Self.logLine(id: id, line))
        }
        try Task.checkCancellation()
        return note("the extension's bpftrace \(process.exitStatus.map { "\($0)" } ?? "ended")")
    }
}
