/// Why an exchange produced no response. Every case names the URL so a log line is enough to
/// know which endpoint failed; `message` is libcurl's own explanation.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listening, host unreachable, DNS failure, TLS handshake refused.
    case connectionFailed(url: String, message: String)
    /// The connect timeout or total timeout elapsed.
    case timedOut(url: String, seconds: Double, message: String)
    /// The calling task was cancelled; the transfer was aborted.
    case cancelled(url: String)
    /// The body exceeded `HTTPRequest.maxResponseBytes`.
    case responseTooLarge(url: String, limit: Int)
    /// The request itself is unusable (bad URL, bad method).
    case invalidRequest(url: String, message: String)
    /// Any other libcurl failure, with its numeric code.
    case transferFailed(url: String, code: Int, message: String)

    public var url: String {
        switch self {
        case .connectionFailed(let url, _), .timedOut(let url, _, _), .cancelled(let url),
             .responseTooLarge(let url, _), .invalidRequest(let url, _),
             .transferFailed(let url, _, _):
            return url
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let url, let message):
            return "cannot connect to \(url): \(message)"
        case .timedOut(let url, let seconds, let message):
            return "request to \(url) timed out after \(seconds)s: \(message)"
        case .cancelled(let url):
            return "request to \(url) was cancelled"
        case .responseTooLarge(let url, let limit):
            return "response from \(url) exceeded \(limit) bytes"
        case .invalidRequest(let url, let message):
            return "invalid request to \(url): \(message)"
        case .transferFailed(let url, let code, let message):
            return "request to \(url) failed (curl error \(code)): \(message)"
        }
    }
}
