/// Why a call to the model failed. Every endpoint-related case names the full endpoint URL, so
/// the message in `kenc` output or the journal says which service failed and how.
public enum LLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Configuration is missing or malformed (an environment variable, a base URL).
    case notConfigured(String)
    /// The API key file or credential could not be read, or was empty.
    case apiKeyUnreadable(path: String, reason: String)
    /// Nothing answered: connection refused, DNS failure, TLS failure, dropped connection.
    case connectionFailed(endpoint: String, message: String)
    /// The connect or total timeout elapsed.
    case timedOut(endpoint: String, seconds: Double)
    /// The endpoint answered with a non-success status (after any retries); `message` is the
    /// API's own error message when it sent one.
    case httpStatus(endpoint: String, status: Int, message: String, attempts: Int)
    /// The endpoint asked us to wait longer than we are willing to (`Retry-After`).
    case retryAfterTooLong(endpoint: String, seconds: Double, limit: Double)
    /// A 200 whose body is not the expected JSON.
    case invalidResponse(endpoint: String, reason: String)
    /// The calling task was cancelled.
    case cancelled(endpoint: String)

    public var description: String {
        switch self {
        case .notConfigured(let why):
            return "LLM not configured: \(why)"
        case .apiKeyUnreadable(let path, let reason):
            return "cannot read the LLM API key from \(path): \(reason)"
        case .connectionFailed(let endpoint, let message):
            return "LLM endpoint \(endpoint) unreachable: \(message)"
        case .timedOut(let endpoint, let seconds):
            return "LLM endpoint \(endpoint) timed out after \(seconds)s"
        case .httpStatus(let endpoint, let status, let message, let attempts):
            let tries = attempts == 1 ? "" : " (after \(attempts) attempts)"
            return "LLM endpoint \(endpoint) answered HTTP \(status)\(tries): \(message)"
        case .retryAfterTooLong(let endpoint, let seconds, let limit):
            return "LLM endpoint \(endpoint) is rate limiting: asked to retry after \(seconds)s, more than the \(limit)s limit"
        case .invalidResponse(let endpoint, let reason):
            return "LLM endpoint \(endpoint) sent an unusable response: \(reason)"
        case .cancelled(let endpoint):
            return "request to LLM endpoint \(endpoint) was cancelled"
        }
    }
}
