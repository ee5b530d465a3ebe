import Foundation

/// Follows an output file another writer appends to — the native runtime's
/// `<directory>/stdout.log`, written as bpftrace's `-f json` lines — as a stream of new lines,
/// the way `BpftraceProcess.lines()` streams a child's. Polls, since the writer is a thread of
/// the agent with no hub of its own; the file stays bounded as the children's are (`LogTailer`).
public enum OutputFileFollower {
    /// New lines of `<directory>/stdout.log` from now on, until `isLive` turns false (then what is
    /// left is read and the stream ends) or the consumer stops.
    public static func lines(directory: String, limitBytes: Int, pollInterval: Duration = .milliseconds(50),
                             isLive: @escaping @Sendable () -> Bool) -> AsyncStream<OutputLine> {
        let path = (directory as NSString).appendingPathComponent("stdout.log")
        let (stream, continuation) = AsyncStream<OutputLine>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let task = Task {
            let tailer = LogTailer(path: path, stream: .stdout, limitBytes: limitBytes)
            while !Task.isCancelled {
                let live = isLive()
                let batch = live ? tailer.poll() : tailer.flush()
                let now = Date()
                for raw in batch { continuation.yield(OutputLine.decode(raw, stream: .stdout, timestamp: now)) }
                guard live else { break }
                try? await Task.sleep(for: pollInterval)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
