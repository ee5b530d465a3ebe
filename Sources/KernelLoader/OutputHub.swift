import Foundation

/// Fans a process's output lines out to any number of `AsyncStream` subscribers, and remembers
/// the first lines (up to a bound) so a failed start can report everything bpftrace said.
final class OutputHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<OutputLine>.Continuation] = [:]
    private var startupStdout: [String] = []
    private var startupStderr: [String] = []
    private var startupBytes = 0
    private let startupLimit = 4 << 20
    private var finished = false
    private(set) var sawAttach = false
    private(set) var sawEvent = false

    func subscribe() -> AsyncStream<OutputLine> {
        let (stream, continuation) = AsyncStream<OutputLine>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        let alreadyFinished: Bool = lock.withLock {
            if finished { return true }
            subscribers[id] = continuation
            return false
        }
        if alreadyFinished {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                _ = self.lock.withLock { self.subscribers.removeValue(forKey: id) }
            }
        }
        return stream
    }

    /// Publishes `line`; `raw` is the line exactly as the child wrote it.
    func publish(_ line: OutputLine, raw: String) {
        let targets: [AsyncStream<OutputLine>.Continuation] = lock.withLock {
            if startupBytes < startupLimit {
                if line.stream == .stdout { startupStdout.append(raw) } else { startupStderr.append(raw) }
                startupBytes += raw.utf8.count
            }
            if line.isAttachAnnouncement { sawAttach = true }
            if line.stream == .stdout, case .json(let type) = line.kind, type != "attached_probes" {
                sawEvent = true
            }
            if line.stream == .stdout, line.kind == .printf { sawEvent = true }
            return Array(subscribers.values)
        }
        for target in targets { target.yield(line) }
    }

    func finish() {
        let targets: [AsyncStream<OutputLine>.Continuation] = lock.withLock {
            finished = true
            defer { subscribers = [:] }
            return Array(subscribers.values)
        }
        for target in targets { target.finish() }
    }

    /// Flags read under the lock.
    var attachAnnounced: Bool { lock.withLock { sawAttach } }
    var eventSeen: Bool { lock.withLock { sawEvent } }

    /// Everything the child wrote since the start, exactly: its stderr, then its stdout (the order
    /// between the two streams is not knowable from two files).
    func startupText() -> String {
        lock.withLock {
            var parts: [String] = []
            if !startupStderr.isEmpty { parts.append(startupStderr.joined(separator: "\n")) }
            if !startupStdout.isEmpty { parts.append(startupStdout.joined(separator: "\n")) }
            return parts.joined(separator: "\n")
        }
    }

    /// Stops recording startup lines once the extension is attached.
    func endStartup() {
        lock.withLock { startupBytes = startupLimit }
    }
}
