import Foundation

/// Facts about processes read from /proc.
enum ProcFS {
    /// The program ids a process holds open: every `prog_id:` line in /proc/<pid>/fdinfo/*.
    ///
    /// Why fdinfo: it names exactly the programs *this* process loaded and still holds (bpftrace
    /// keeps each program's fd open while attached), with no race against other loaders, unlike
    /// diffing the global id list before and after.
    static func programIDs(ofProcess pid: Int32) -> [UInt32] {
        let directory = "/proc/\(pid)/fdinfo"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var ids = Set<UInt32>()
        for entry in entries {
            guard let text = try? String(contentsOfFile: "\(directory)/\(entry)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
                let value = line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)
                if let id = UInt32(value) { ids.insert(id) }
            }
        }
        return ids.sorted()
    }

    /// argv of a process, nil if it does not exist.
    static func commandLine(ofProcess pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return data.split(separator: 0, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.isEmpty }
    }

    /// True when the process sleeps in epoll_wait: bpftrace's event loop, entered only after every
    /// probe is attached (and BEGIN has run).
    static func isInEventLoop(_ pid: Int32) -> Bool {
        if let wchan = try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8),
           wchan.contains("epoll") {
            return true
        }
        return false
    }
}
