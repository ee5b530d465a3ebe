import Foundation
import KenProto
import KenRPC

/// A failure kenc reports: what happened, raw detail (bpftrace's output, the verifier log), what
/// to do next, and the exit status scripts can test.
public struct AgentCLIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var exitCode: AgentExitCode
    public var message: String
    public var detail: String
    public var hint: String

    public init(_ exitCode: AgentExitCode, _ message: String, detail: String = "", hint: String = "") {
        self.exitCode = exitCode
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    /// From an answer with a non-OK status.
    public init(status: Ken_V1_Status) {
        self.init(AgentExitCode(code: status.code), status.message.isEmpty ? "ken-agent answered \(status.code)" : status.message,
                  detail: status.detail, hint: status.hint)
    }

    /// From a transport error: the agent is unreachable (5), or the socket refuses us (4).
    public init(rpc error: RPCError, socket: String) {
        switch error {
        case .socketNotFound:
            self.init(.agentUnreachable, "ken-agent is not running (no socket at \(socket))",
                      hint: "start it (systemctl start ken-agent.socket) or pass --agent-socket / set KEN_AGENT_SOCKET")
        case .permissionDenied:
            self.init(.permissionDenied, "not allowed to connect to \(socket)",
                      hint: "ask an administrator to add you to the ken group, then log in again")
        case .connectionRefused:
            self.init(.agentUnreachable, "ken-agent is not accepting connections on \(socket)",
                      hint: "check systemctl status ken-agent")
        case .timedOut:
            self.init(.agentUnreachable, error.description, hint: "ken-agent may be overloaded; check systemctl status ken-agent")
        case .connectionClosed:
            self.init(.agentUnreachable, "ken-agent closed the connection", hint: "check journalctl -u ken-agent")
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
    public func naming(script file: String) -> AgentCLIError {
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
