import Foundation
import KenProto
import KernelLoader
import Registry

extension ExtensionSupervisor {
    /// The line as `kenc logs` shows it: with `notes`, as written (JSON envelopes other than
    /// printf kept); without, the extension's output only, rendered as bpftrace's text mode
    /// would (nil: a diagnostic, left out).
    static func logLine(id: String, _ line: OutputLine, notes: Bool = true) -> Ken_V1_LogLine? {
        let text: String
        if notes {
            text = line.text
        } else {
            guard let output = ExtensionOutput.render(line) else { return nil }
            text = output
        }
        return Ken_V1_LogLine.with {
            $0.extensionID = id
            $0.timeUnixMs = Int64((line.timestamp.timeIntervalSince1970 * 1000).rounded())
            $0.stream = line.stream.rawValue
            $0.text = text
        }
    }

    /// What the extension's log files keep: with `notes`, the agent's notes, then bpftrace's
    /// stderr, then its stdout (the files carry no timestamps, so the streams cannot be
    /// interleaved exactly); without, the extension's output alone. The last `tail` lines (0: all).
    func logLines(id: String, tail: Int, notes withNotes: Bool = true) -> [Ken_V1_LogLine] {
        let directory = configuration.extensionDirectory(id: id)
        let now = Date()
        var lines: [Ken_V1_LogLine] = !withNotes ? [] : notes(id).read().map { note in
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
                if let line = Self.logLine(id: id, OutputLine.decode(String(raw), stream: stream, timestamp: now), notes: withNotes) {
                    lines.append(line)
                }
            }
        }
        return tail > 0 ? Array(lines.suffix(tail)) : lines
    }

    /// Streams new output lines until the extension's process ends (a native one: until it is
    /// stopped or calls exit()) or the caller is cancelled. Returns a final note saying why the
    /// stream ended.
    func follow(id: String, notes withNotes: Bool = true,
                send: @Sendable (Ken_V1_LogLine) async throws -> Void) async throws -> Ken_V1_LogLine {
        let (process, native) = running.withLock { ($0[id]?.process, $0[id]?.native) }
        func note(_ text: String) -> Ken_V1_LogLine {
            Ken_V1_LogLine.with {
                $0.extensionID = id
                $0.timeUnixMs = Registry.nowUnixMs()
                $0.stream = "agent"
                $0.text = text
            }
        }
        if let native {
            // The runtime bounds stdout.log itself at logMaxBytes; the follower's own bound is
            // set above that so only the writer ever rotates the file.
            let lines = OutputFileFollower.lines(directory: configuration.extensionDirectory(id: id),
                                                 limitBytes: 2 * configuration.policy.logMaxBytes) { [self] in
                running.withLock { $0[id]?.native === native }
            }
            for await line in lines {
                try Task.checkCancellation()
                if let shown = Self.logLine(id: id, line, notes: withNotes) { try await send(shown) }
            }
            try Task.checkCancellation()
            let state = (try? registry.get(id: id, withObject: false))?.state.rawValue ?? "unknown"
            return note("the native extension ended: it is \(state)")
        }
        guard let process else {
            let state = (try? registry.get(id: id, withObject: false))?.state.rawValue ?? "unknown"
            return note("no live output to follow: the extension is \(state)")
        }
        for await line in process.lines() {
            try Task.checkCancellation()
            if let shown = Self.logLine(id: id, line, notes: withNotes) { try await send(shown) }
        }
        try Task.checkCancellation()
        return note("the extension's bpftrace \(process.exitStatus.map { "\($0)" } ?? "ended")")
    }
}
