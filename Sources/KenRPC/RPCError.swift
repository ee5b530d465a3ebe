import KenProto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Errors from KenRPC's clients, servers and endpoints. Every description names the socket and
/// says what to try, since these end up in front of a person at a terminal.
public enum RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket file does not exist (ENOENT): the daemon is not running or uses another path.
    case socketNotFound(path: String, service: String)
    /// connect(2) or bind(2) was refused by file permissions (EACCES/EPERM).
    case permissionDenied(path: String, service: String)
    /// The file exists but nothing accepts connections on it (ECONNREFUSED): a stale socket.
    case connectionRefused(path: String, service: String)
    /// Any other failure to connect, with the system's words.
    case connectFailed(path: String, reason: String)
    /// The peer closed the connection (or it broke) while calls were in flight.
    case connectionClosed(path: String)
    /// A connect or call timeout ran out.
    case timedOut(path: String, operation: String, after: Duration)
    /// The bytes received do not follow the wire format.
    case protocolViolation(path: String, reason: String)
    /// The server answered a connection-level failure (a response with id 0) and closed.
    case serverRejected(path: String, code: Ken_V1_Code, message: String)
    /// A request or response is larger than the frame limit.
    case frameTooLarge(size: Int, limit: Int)
    /// The call was cancelled by the caller.
    case cancelled
    /// A server could not bind or serve its endpoint.
    case bindFailed(path: String, reason: String)
    /// Another live server already listens on the path we were asked to bind.
    case addressInUse(path: String)
    /// Socket activation was requested but no usable socket was passed.
    case notActivated(reason: String)
    /// The client or server was already closed.
    case closed

    public var description: String {
        switch self {
        case .socketNotFound(let path, let service):
            return "cannot connect to \(service): is \(service) running? socket \(path) does not exist (start it with `systemctl start \(service).socket`, or pass the socket path it listens on)"
        case .permissionDenied(let path, let service):
            return "cannot connect to \(service) at \(path): permission denied — the socket is mode 0660; add your user to the socket's group (e.g. `ken`) and log in again, or run as root"
        case .connectionRefused(let path, let service):
            return "cannot connect to \(service) at \(path): connection refused — nothing listens on the socket (stale file? is \(service) running?)"
        case .connectFailed(let path, let reason):
            return "cannot connect to \(path): \(reason)"
        case .connectionClosed(let path):
            return "connection to \(path) closed before the answer arrived"
        case .timedOut(let path, let operation, let after):
            return "\(operation) on \(path) timed out after \(after)"
        case .protocolViolation(let path, let reason):
            return "protocol error on \(path): \(reason)"
        case .serverRejected(let path, let code, let message):
            return "server at \(path) closed the connection: \(code): \(message)"
        case .frameTooLarge(let size, let limit):
            return "message of \(size) bytes exceeds the frame limit of \(limit) bytes"
        case .cancelled:
            return "call cancelled"
        case .bindFailed(let path, let reason):
            return "cannot listen on \(path): \(reason)"
        case .addressInUse(let path):
            return "cannot listen on \(path): another server is accepting connections there"
        case .notActivated(let reason):
            return "socket activation: \(reason)"
        case .closed:
            return "the RPC connection is closed"
        }
    }

    /// Maps a connect(2) errno to the error a person can act on.
    static func connectError(errno code: Int32, path: String, service: String) -> RPCError {
        switch code {
        case ENOENT, ENOTDIR: return .socketNotFound(path: path, service: service)
        case EACCES, EPERM: return .permissionDenied(path: path, service: service)
        case ECONNREFUSED: return .connectionRefused(path: path, service: service)
        default: return .connectFailed(path: path, reason: systemErrorText(code))
        }
    }
}

func systemErrorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}
