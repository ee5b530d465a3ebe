import KenProto

/// The one way kend, ken-eval and ken-bench reach ken-agent: its socket and how long to wait
/// for it. Every call opens a connection, makes the call and closes it, whatever happens; code
/// that needs a connection for longer gets one from `connect()` and closes it itself.
public struct AgentEndpoint: Sendable, Equatable {
    public var socketPath: String
    /// How long to wait for the socket to accept.
    public var connectTimeout: Duration

    public init(socketPath: String, connectTimeout: Duration = .seconds(5)) {
        self.socketPath = socketPath
        self.connectTimeout = connectTimeout
    }

    /// A connection the caller closes.
    public func connect() async throws(RPCError) -> AgentClient {
        try await AgentClient.connect(path: socketPath, timeout: connectTimeout)
    }

    /// One call on its own connection. Answers with a non-OK status are returned, not thrown.
    public func call(_ request: Ken_V1_AgentRequest, timeout: Duration? = nil) async throws(RPCError) -> Ken_V1_AgentResponse {
        let client = try await connect()
        do {
            let response = try await client.call(request, timeout: timeout)
            await client.close()
            return response
        } catch {
            await client.close()
            throw error
        }
    }
}
