import Foundation

/// One line a bpftrace child wrote, as the supervisor saw it.
///
/// bpftrace runs with `-f json`, so stdout is one JSON object per line. `printf` objects are
/// decoded to the text the script printed; every other JSON object (maps, histograms, lost
/// events, ...) is kept as its JSON text; anything else (verbose verifier output, warnings,
/// errors on stderr) is plain text.
public struct OutputLine: Sendable, Hashable {
    /// Which descriptor of the child wrote the line.
    public enum Stream: String, Sendable, Hashable {
        case stdout
        case stderr
    }

    /// What the line is.
    public enum Kind: Sendable, Hashable {
        /// Text from the script's `printf` (the JSON envelope removed, trailing newline trimmed).
        case printf
        /// A bpftrace JSON object other than printf; `type` is its "type" field ("map", "hist",
        /// "attached_probes", "lost_events", ...), `text` the JSON itself.
        case json(type: String)
        /// Not JSON: stderr messages, `-v` verifier output, text-mode output.
        case text
    }

    public let stream: Stream
    /// When the supervisor read the line (within ~50 ms of the write); for lines recovered from a
    /// log file after an agent restart, the time they were read back.
    public let timestamp: Date
    public let kind: Kind
    /// The line without its newline (for `.printf`, the decoded text).
    public let text: String

    public init(stream: Stream, timestamp: Date, kind: Kind, text: String) {
        self.stream = stream
        self.timestamp = timestamp
        self.kind = kind
        self.text = text
    }

    /// Classifies one raw line of bpftrace output.
    public static func decode(_ raw: String, stream: Stream, timestamp: Date = Date()) -> OutputLine {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{"),
           let data = trimmed.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let type = object["type"] as? String {
            if type == "printf", let text = object["data"] as? String {
                var body = text
                while body.hasSuffix("\n") { body.removeLast() }
                return OutputLine(stream: stream, timestamp: timestamp, kind: .printf, text: body)
            }
            return OutputLine(stream: stream, timestamp: timestamp, kind: .json(type: type), text: trimmed)
        }
        return OutputLine(stream: stream, timestamp: timestamp, kind: .text, text: raw)
    }

    /// True for bpftrace's "probes attached" announcement in any of its forms: the JSON
    /// `{"type": "attached_probes", ...}` (0.17+) or the text "Attaching N probes...".
    ///
    /// bpftrace prints it *before* it loads and attaches the programs, so it is a necessary, not a
    /// sufficient, sign of success; `BpftraceRunner` also waits for the event loop.
    public var isAttachAnnouncement: Bool {
        switch kind {
        case .json(let type): return type == "attached_probes"
        case .printf: return false
        case .text:
            // 0.17: "Attaching 2 probes..."; later releases also print "Attached 2 probes".
            return (text.hasPrefix("Attaching ") && text.contains("probe") && text.hasSuffix("..."))
                || (text.hasPrefix("Attached ") && text.contains("probe"))
        }
    }

    /// bpftrace's harmless warning when it cannot raise RLIMIT_MEMLOCK (modern kernels account
    /// BPF memory to cgroups, not the rlimit); kept in the output, never treated as a failure.
    public var isMemlockWarning: Bool { Self.isMemlockWarning(text) }

    /// The same test on a raw line (bpftrace's failure output is read as text).
    public static func isMemlockWarning(_ text: String) -> Bool {
        text.contains("RLIMIT_MEMLOCK")
    }
}

/// How a supervised bpftrace process ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this code (0: the script called exit() or ended normally).
    case exited(code: Int32)
    /// A signal killed it (9: SIGKILL, ...).
    case signaled(signal: Int32)
    /// It is gone, but it was not this process's child (adopted after an agent restart), so its
    /// exit status cannot be known.
    case unknown

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal):
            let name = String(cString: strsignal(signal))
            return "killed by signal \(signal) (\(name))"
        case .unknown: return "exited (status unknown: not a child of this process)"
        }
    }
}
