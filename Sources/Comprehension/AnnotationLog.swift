import Foundation
import SymbolicVerifier

/// One annotated program that reached the verifier, with its verdict.
public struct AnnotationLogEntry: Codable, Sendable, Hashable {
    /// ISO 8601 time of the verification.
    public var time: String
    public var prompt: String
    /// The probes the program attaches to.
    public var probes: [String]
    /// The annotated program as verified.
    public var annotatedSource: String
    /// VERIFIED / VIOLATED / UNKNOWN.
    public var verdict: String
    /// Per assert: `assert(…)` text, verdict, vacuous, reason.
    public var asserts: [AssertSummary]
    /// Which attempt of one `annotate` call this was (1, or 2 after a regeneration).
    public var attempt: Int
    public var notes: [String]

    public struct AssertSummary: Codable, Sendable, Hashable {
        public var text: String
        public var verdict: String
        public var vacuous: Bool
        public var reason: String?
    }

    public init(time: String, prompt: String, probes: [String], annotatedSource: String, verdict: String,
                asserts: [AssertSummary], attempt: Int, notes: [String]) {
        self.time = time
        self.prompt = prompt
        self.probes = probes
        self.annotatedSource = annotatedSource
        self.verdict = verdict
        self.asserts = asserts
        self.attempt = attempt
        self.notes = notes
    }

    init(prompt: String, probes: [String], source: String, result: VerificationResult, attempt: Int, notes: [String]) {
        self.init(time: ISO8601DateFormatter().string(from: Date()), prompt: prompt, probes: probes,
                  annotatedSource: source, verdict: result.verdict.rawValue,
                  asserts: result.asserts.map {
                      AssertSummary(text: $0.text, verdict: $0.verdict.rawValue, vacuous: $0.vacuous, reason: $0.reason)
                  },
                  attempt: attempt, notes: notes)
    }
}

/// Why the annotation log could not be written or read.
public enum AnnotationLogError: Error, Sendable, Hashable, CustomStringConvertible {
    case io(path: String, reason: String)
    case corruptLine(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "annotation log \(path): \(reason)"
        case let .corruptLine(path, line, reason): return "annotation log \(path) line \(line) is not a log entry: \(reason)"
        }
    }
}

/// Append-only JSON Lines file (`<stateDir>/annotations.jsonl`) of every annotated program
/// that reached the verifier, for the example store and audits. Each entry is one `write(2)`
/// on an `O_APPEND` descriptor, so concurrent writers never interleave inside a line.
public struct AnnotationLog: Sendable {
    public let path: String

    public init(stateDirectory: String, fileName: String = "annotations.jsonl") {
        self.path = stateDirectory + "/" + fileName
    }

    public func append(_ entry: AnnotationLogEntry) throws(AnnotationLogError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data: Data
        do {
            data = try encoder.encode(entry)
        } catch {
            throw .io(path: path, reason: "cannot encode entry: \(error)")
        }
        data.append(0x0A)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else {
            throw .io(path: path, reason: written < 0 ? String(cString: strerror(errno)) : "short write")
        }
    }

    /// Every entry, oldest first.
    public func entries() throws(AnnotationLogError) -> [AnnotationLogEntry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
        var out: [AnnotationLogEntry] = []
        for (index, line) in data.split(separator: 0x0A).enumerated() where !line.isEmpty {
            do {
                out.append(try JSONDecoder().decode(AnnotationLogEntry.self, from: Data(line)))
            } catch {
                throw .corruptLine(path: path, line: index + 1, reason: "\(error)")
            }
        }
        return out
    }
}
