import Foundation
import KenProto
import KenRPC

/// A failure kenc reports: what happened, raw detail (bpftrace's output, the verifier log), what
/// to do next, and the exit status scripts can test. Every subcommand ends in one of these or
/// in success, so every failure is printed the same way.
public struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public var exit: KencExit
    public var message: String
    public var detail: String
    public var hint: String

    public init(_ exit: KencExit, _ message: String, detail: String = "", hint: String = "") {
        self.exit = exit
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    /// From an answer with a non-OK status from `service` ("ken-agent" or "kend").
    public init(status: Ken_V1_Status, service: String = "ken-agent") {
        self.init(KencExit(code: status.code), status.message.isEmpty ? "\(service) answered \(status.code)" : status.message,
                  detail: status.detail, hint: status.hint)
    }

    /// A daemon kenc talks to: its name, the option and variable that choose its socket, and
    /// the unit that runs it.
    public struct Daemon: Sendable, Equatable {
        public var name: String
        public var option: String
        public var environmentVariable: String

        public static let agent = Daemon(name: "ken-agent", option: "--agent-socket", environmentVariable: "KEN_AGENT_SOCKET")
        public static let kend = Daemon(name: "kend", option: "--kend-socket", environmentVariable: "KEN_SOCKET")
    }

    /// From a transport error: the daemon is unreachable (5), or the socket refuses us (4).
    public init(rpc error: RPCError, socket: String, daemon: Daemon = .agent) {
        let name = daemon.name
        switch error {
        case .socketNotFound:
            self.init(.unreachable, "\(name) is not running (no socket at \(socket))",
                      hint: "start it (systemctl start \(name).socket) or pass \(daemon.option) / set \(daemon.environmentVariable)")
        case .permissionDenied:
            self.init(.permissionDenied, "not allowed to connect to \(socket)",
                      hint: "ask an administrator to add you to the ken group, then log in again")
        case .connectionRefused:
            self.init(.unreachable, "\(name) is not accepting connections on \(socket)",
                      hint: "check systemctl status \(name)")
        case .timedOut:
            self.init(.unreachable, error.description, hint: "\(name) may be overloaded; check systemctl status \(name)")
        case .connectionClosed:
            self.init(.unreachable, "\(name) closed the connection", hint: "check journalctl -u \(name)")
        case .connectFailed:
            self.init(.unreachable, error.description)
        default:
            self.init(.failure, error.description)
        }
    }

    /// The text kenc prints on stderr.
    public var rendered: String {
        var out = "kenc: error: \(message)\n"
        if !detail.isEmpty {
            out += detail.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
            if !out.hasSuffix("\n") { out += "\n" }
        }
        if !hint.isEmpty { out += "hint: \(hint)\n" }
        return out
    }

    public var description: String { message }

    /// The same error with the agent's copy of a script (`…/extensions/<id>/script.bt`) named
    /// as the user's file, so bpftrace's `script.bt:3:5: ERROR` reads `mine.bt:3:5: ERROR`.
    public func naming(script file: String) -> ClientError {
        func rename(_ text: String) -> String {
            text.replacingOccurrences(of: #"/[^\s:'"]*/extensions/[0-9a-f]+/script\.bt"#, with: file,
                                      options: .regularExpression)
        }
        var copy = self
        copy.message = rename(message)
        copy.detail = rename(detail)
        return copy
    }
}
