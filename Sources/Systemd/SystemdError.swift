/// Errors from the systemd wrapper. Each names the libsystemd call and the errno it returned, so
/// a daemon's log line says what went wrong without a debugger.
public enum SystemdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sd_listen_fds_with_names` failed (bad LISTEN_FDS, LISTEN_PID or LISTEN_FDNAMES).
    case listenFDs(errno: Int32)
    /// `sd_notify` failed to send to `$NOTIFY_SOCKET`.
    case notify(errno: Int32)
    /// `sd_watchdog_enabled` could not parse WATCHDOG_USEC / WATCHDOG_PID.
    case watchdog(errno: Int32)
    /// `sd_journal_sendv` failed (usually: no journald socket on this machine).
    case journal(errno: Int32)
    /// A journal field name is not valid (must be upper case letters, digits and `_`).
    case invalidJournalField(String)

    public var description: String {
        switch self {
        case .listenFDs(let e):
            return "sd_listen_fds_with_names failed: \(errnoText(e)) (check LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES)"
        case .notify(let e):
            return "sd_notify failed: \(errnoText(e)) (NOTIFY_SOCKET unreachable?)"
        case .watchdog(let e):
            return "sd_watchdog_enabled failed: \(errnoText(e)) (malformed WATCHDOG_USEC or WATCHDOG_PID?)"
        case .journal(let e):
            return "sd_journal_sendv failed: \(errnoText(e)) (is systemd-journald running?)"
        case .invalidJournalField(let name):
            return "invalid journal field name \"\(name)\": use upper-case letters, digits and '_', not starting with '_'"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}
