/// Serves the calls of one protocol. One value serves every connection, concurrently, so it
/// must be `Sendable`; each call runs in its own task.
///
/// For a unary call, return the response. For a streaming call, `try await context.send(_:)`
/// each intermediate response (the server sets `more` and the id), then return the last one.
/// Cancellation (a `CancelRequest` for this id, the client disconnecting, server shutdown)
/// cancels the task: `Task.isCancelled`/`context.isCancelled` turn true, `send` throws
/// `CancellationError`, and whatever the handler then returns or throws is replaced by a
/// `CANCELLED` answer (when the connection is still open).
public protocol RPCHandler<Request, Response>: Sendable {
    associatedtype Request: RPCRequestEnvelope
    associatedtype Response: RPCResponseEnvelope

    /// Called for every request with a call set, except cancel requests (the server handles
    /// those). Throw `RPCStatusError` to answer with a status code.
    func handle(_ request: Request, context: RPCCallContext<Response>) async throws -> Response
}
