import Foundation
import Glibc

/// Appends an extension's output lines to `<directory>/stdout.log`, bounded like a bpftrace
/// child's log: once the file passes `limitBytes` its content is copied to `stdout.log.1`
/// (replacing the previous generation) and the live file is truncated. A `LogTailer` following
/// the file sees the truncation and starts over at its beginning.
final class OutputLog: @unchecked Sendable {
    let path: String
    let limitBytes: Int
    private let fd: Int32
    private var size: Int

    init(directory: String, limitBytes: Int) throws(NativeRuntimeError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw .other("cannot create \(directory): \(error.localizedDescription)")
        }
        path = directory + "/stdout.log"
        self.limitBytes = max(limitBytes, 4096)
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .other("cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    deinit { close(fd) }

    /// Writes the lines (each gets a newline) in one write.
    func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        var data = Array(lines.joined(separator: "\n").utf8)
        data.append(0x0A)
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, data.count - offset) }
            if written < 0 { if errno == EINTR { continue }; return }
            offset += written
        }
        size += data.count
        if size > limitBytes { rotate() }
    }

    private func rotate() {
        if let data = FileManager.default.contents(atPath: path) {
            let previous = path + ".1"
            if FileManager.default.createFile(atPath: previous + ".tmp", contents: data) {
                _ = rename(previous + ".tmp", previous)
            }
        }
        if ftruncate(fd, 0) == 0 { size = 0 }
    }
}
