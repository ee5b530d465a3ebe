import Foundation

/// One header line. Kept as an ordered list rather than a dictionary because HTTP allows repeated
/// names and the order can matter to servers.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Everything needed to perform one HTTP exchange. Timeouts are explicit per request because the
/// LLM client needs a short connect timeout (fail fast when the endpoint is down) and a long total
/// timeout (completions can take a minute).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [HTTPHeader]
    public var body: Data
    /// Seconds allowed to establish the TCP (and TLS) connection.
    public var connectTimeout: Double
    /// Seconds allowed for the whole exchange, connection included.
    public var totalTimeout: Double
    /// Responses larger than this are refused, so a misbehaving server cannot exhaust memory.
    public var maxResponseBytes: Int

    public init(method: String = "GET", url: String, headers: [HTTPHeader] = [], body: Data = Data(),
                connectTimeout: Double = 10, totalTimeout: Double = 60,
                maxResponseBytes: Int = 64 << 20) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// The final response (after any `100 Continue`): status, headers and the whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [HTTPHeader]
    public var body: Data

    public init(status: Int, headers: [HTTPHeader], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name, compared case-insensitively as HTTP requires.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The body decoded as UTF-8 (invalid bytes replaced), for error messages and logs.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
