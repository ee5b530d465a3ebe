import CSystemd

/// One assignment in an `sd_notify` message. Several are joined with newlines into one datagram,
/// so a status change and READY=1 reach the manager together.
public enum NotifyState: Sendable, Equatable {
    /// Start-up is finished (`READY=1`): for Type=notify units systemd now considers us started.
    case ready
    /// A one-line human-readable status shown by `systemctl status` (`STATUS=…`).
    case status(String)
    /// The service is beginning to shut down (`STOPPING=1`).
    case stopping
    /// The service is reloading its configuration (`RELOADING=1`).
    case reloading
    /// Keep-alive ping for `WatchdogSec=` (`WATCHDOG=1`).
    case watchdog
    /// The main process id, when it is not the process that was started (`MAINPID=`).
    case mainPID(Int32)

    /// The `KEY=value` text sent on the wire. Newlines inside a status would start a new
    /// assignment, so they are replaced by spaces.
    public var assignment: String {
        switch self {
        case .ready: return "READY=1"
        case .status(let text):
            let oneLine = text.map { $0.isNewline ? " " : String($0) }.joined()
            return "STATUS=\(oneLine)"
        case .stopping: return "STOPPING=1"
        case .reloading: return "RELOADING=1"
        case .watchdog: return "WATCHDOG=1"
        case .mainPID(let pid): return "MAINPID=\(pid)"
        }
    }
}

/// Talks to the service manager over `$NOTIFY_SOCKET`.
public enum ServiceNotifier {
    /// Sends the states in one datagram.
    ///
    /// - Returns: true when a manager received it, false when `NOTIFY_SOCKET` is unset (not run
    ///   by systemd, or not `Type=notify`) — that is normal outside systemd, not an error.
    /// - Throws: `SystemdError.notify` when the socket exists but sending failed.
    @discardableResult
    public static func notify(_ states: [NotifyState]) throws(SystemdError) -> Bool {
        let message = states.map(\.assignment).joined(separator: "\n")
        let result = sd_notify(0, message)
        if result < 0 { throw .notify(errno: -result) }
        return result > 0
    }

    /// Convenience for a single state.
    @discardableResult
    public static func notify(_ state: NotifyState) throws(SystemdError) -> Bool {
        try notify([state])
    }

    /// How often systemd expects `.watchdog` pings, or nil when no watchdog is configured for
    /// this process (`WATCHDOG_USEC` unset or `WATCHDOG_PID` another process). Ping at half
    /// this interval, as sd_watchdog_enabled(3) recommends.
    public static func watchdogInterval() throws(SystemdError) -> Duration? {
        var microseconds: UInt64 = 0
        let result = sd_watchdog_enabled(0, &microseconds)
        if result < 0 { throw .watchdog(errno: -result) }
        guard result > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }
}
