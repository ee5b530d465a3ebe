import CSystemd
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// syslog(3) priorities, which journald stores as `PRIORITY=`.
public enum JournalPriority: Int32, Sendable, Comparable {
    case emergency = 0, alert, critical, error, warning, notice, info, debug

    public static func < (lhs: JournalPriority, rhs: JournalPriority) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Structured logging to systemd-journald.
public enum Journal {
    /// Whether this process's stderr is the journal stream systemd set up (`JOURNAL_STREAM` is
    /// `DEVICE:INODE` of that stream and it matches fd 2). When true, a daemon should log
    /// without timestamps (journald adds them) or send structured entries instead.
    public static var isStderrConnected: Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        return stderrMatches(journalStream: String(cString: raw))
    }

    /// The comparison behind `isStderrConnected`, for a given `JOURNAL_STREAM` value.
    public static func stderrMatches(journalStream value: String) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else {
            return false
        }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Sends one entry: `MESSAGE=`, `PRIORITY=` and any extra fields (e.g. `KEN_EXTENSION_ID`).
    ///
    /// - Throws: `SystemdError.invalidJournalField` for a bad field name;
    ///   `SystemdError.journal` when journald cannot be reached.
    public static func send(
        _ message: String,
        priority: JournalPriority = .info,
        fields: [(name: String, value: String)] = []
    ) throws(SystemdError) {
        var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority.rawValue)"]
        for field in fields {
            guard isValidFieldName(field.name) else { throw .invalidJournalField(field.name) }
            entries.append("\(field.name)=\(field.value)")
        }
        // Field values may hold newlines and any bytes: the iovec form carries them intact,
        // where the printf-style sd_journal_print would not.
        let buffers = entries.map { Array($0.utf8) }
        let result = withIOVectors(buffers, index: 0, collected: []) { vectors in
            vectors.withUnsafeBufferPointer { pointer in
                sd_journal_sendv(pointer.baseAddress, Int32(pointer.count))
            }
        }
        if result < 0 { throw .journal(errno: -result) }
    }

    /// journald's rule: upper-case ASCII letters, digits and underscores, not starting with an
    /// underscore (those are trusted fields journald sets itself), at most 64 characters.
    public static func isValidFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "_"), name.utf8.count <= 64 else { return false }
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_")
        }
    }

    /// Pins every buffer and builds the iovec array inside the pinned scope (recursion keeps
    /// each `withUnsafeBytes` alive until the call returns).
    private static func withIOVectors<R>(
        _ buffers: [[UInt8]], index: Int, collected: [iovec], _ body: ([iovec]) -> R
    ) -> R {
        guard index < buffers.count else { return body(collected) }
        return buffers[index].withUnsafeBytes { raw in
            let vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
            return withIOVectors(buffers, index: index + 1, collected: collected + [vector], body)
        }
    }
}
