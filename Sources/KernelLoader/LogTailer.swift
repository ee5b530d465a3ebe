import Foundation
import Glibc

/// Follows one log file a child appends to, returning complete new lines, and keeps the file
/// bounded.
///
/// Bounding (copy-truncate): once the live file exceeds `limitBytes` and everything in it has
/// been read, its content is copied to `<path>.1` (replacing the previous generation) and the live
/// file is truncated to zero. The child opened it with O_APPEND, so its next write lands at the new
/// end, without a hole. Bytes written between the last read and the truncation (a window of
/// microseconds) are lost; that is the price of a child that keeps writing while the agent may be
/// absent. Disk use per file stays under about 2 × `limitBytes` while a supervisor runs; while no
/// agent runs, the live file grows until the next adopt rotates it.
final class LogTailer {
    let path: String
    let stream: OutputLine.Stream
    let limitBytes: Int
    private var offset: UInt64
    private var partial = Data()

    /// Starts following at the current end of the file: what was written before belongs to the
    /// history (`recentText`), not to the live stream.
    init(path: String, stream: OutputLine.Stream, limitBytes: Int) {
        self.path = path
        self.stream = stream
        self.limitBytes = limitBytes
        offset = LogTailer.size(of: path) ?? 0
    }

    /// Kept open between polls: a poll is then one lseek, plus a read when something was written.
    private var handle: FileHandle?

    deinit { try? handle?.close() }

    /// Reads what was appended since the last call; returns its complete lines.
    func poll() -> [String] {
        if handle == nil { handle = FileHandle(forReadingAtPath: path) }
        guard let handle else { return [] }
        let end = (try? handle.seekToEnd()) ?? 0
        if end < offset {
            // Truncated by someone else: start over.
            offset = 0
        }
        if end > offset {
            do {
                try handle.seek(toOffset: offset)
                let data = try handle.read(upToCount: Int(end - offset)) ?? Data()
                offset += UInt64(data.count)
                partial.append(data)
            } catch {
                return []
            }
        }
        var lines: [String] = []
        while let newline = partial.firstIndex(of: 0x0A) {
            let line = partial[partial.startIndex..<newline]
            lines.append(String(decoding: line, as: UTF8.self))
            partial.removeSubrange(partial.startIndex...newline)
        }
        // A line longer than the bound is cut rather than held forever.
        if partial.count > limitBytes {
            lines.append(String(decoding: partial, as: UTF8.self))
            partial.removeAll()
        }
        // Also rotates a file that grew past the bound while no agent was following it.
        if offset > UInt64(limitBytes) { rotate() }
        return lines
    }

    /// The unterminated tail, once the writer is gone.
    func flush() -> [String] {
        var lines = poll()
        if !partial.isEmpty {
            lines.append(String(decoding: partial, as: UTF8.self))
            partial.removeAll()
        }
        return lines
    }

    private func rotate() {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        // Copy only what was read: anything past `offset` is unread and stays in the live file
        // only if it arrives after the truncation; see the type's comment.
        let kept = data.prefix(Int(min(offset, UInt64(data.count))))
        let previous = path + ".1"
        guard FileManager.default.createFile(atPath: previous + ".tmp", contents: kept) else { return }
        _ = rename(previous + ".tmp", previous)
        if truncate(path, 0) == 0 { offset = 0 }
    }

    static func size(of path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    /// The last `maxBytes` of the previous generation and the live file together, as text.
    static func recentText(path: String, maxBytes: Int) -> String {
        var data = FileManager.default.contents(atPath: path + ".1") ?? Data()
        data.append(FileManager.default.contents(atPath: path) ?? Data())
        if data.count > maxBytes {
            data = data.suffix(maxBytes)
            // Start at a line boundary.
            if let newline = data.firstIndex(of: 0x0A) { data = data[data.index(after: newline)...] }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
