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

    /// Whether the process sleeps in epoll_wait: bpftrace's event loop, entered only after every
    /// probe is attached (and BEGIN has run). nil when the kernel shows neither the wait channel
    /// nor the current system call (then the caller needs another sign).
    static func isInEventLoop(_ pid: Int32) -> Bool? {
        if let wchan = try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8),
           !wchan.isEmpty, wchan != "0" {
            if wchan.contains("epoll") { return true }
        }
        // /proc/<pid>/syscall starts with the number of the system call the task blocks in.
        if let text = try? String(contentsOfFile: "/proc/\(pid)/syscall", encoding: .utf8),
           let first = text.split(separator: " ").first {
            if let number = Int(first) { return epollWaitSyscalls.contains(number) }
            if first.hasPrefix("running") { return false }
        }
        return nil
    }

    /// epoll_wait / epoll_pwait / epoll_pwait2 numbers of this architecture.
    private static let epollWaitSyscalls: Set<Int> = {
        #if arch(x86_64)
        return [232, 281, 441]
        #elseif arch(arm64)
        return [22, 441]
        #else
        return [441]
        #endif
    }()
}
