import KenProto

/// kenc's exit statuses for agent commands, so scripts can tell "not found" from "not allowed"
/// from "the agent is down" without parsing messages.
public enum AgentExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 2
    case notFound = 3
    case permissionDenied = 4
    case agentUnreachable = 5

    /// The exit status for an answer with `code`.
    public init(code: Ken_V1_Code) {
        switch code {
        case .ok: self = .ok
        case .invalidArgument: self = .usage
        case .notFound: self = .notFound
        case .permissionDenied: self = .permissionDenied
        default: self = .failure
        }
    }
}
