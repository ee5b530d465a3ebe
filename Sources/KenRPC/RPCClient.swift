import KenProto
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client of ken-agent.
public typealias AgentClient = RPCClient<Ken_V1_AgentRequest, Ken_V1_AgentResponse>
/// A client of kend.
public typealias KendClient = RPCClient<Ken_V1_KendRequest, Ken_V1_KendResponse>

/// An async client over one connection. Calls may run concurrently; the client numbers them.
///
/// Answers with a non-OK status are returned, not thrown: they carry the daemon's message,
/// detail and hint. Thrown `RPCError`s are about the transport (socket missing, connection
/// closed, timeout, protocol violation).
public final class RPCClient<Request: RPCRequestEnvelope, Response: RPCResponseEnvelope>: Sendable {
    /// The socket this client is connected to.
    public let path: String
    private let channel: any Channel
    private let calls: PendingCalls<Response>
    private let maxFrameSize: Int

    private init(path: String, channel: any Channel, calls: PendingCalls<Response>, maxFrameSize: Int) {
        self.path = path
        self.channel = channel
        self.calls = calls
        self.maxFrameSize = maxFrameSize
    }

    /// A client dropped without `close()` still releases its socket.
    deinit {
        calls.closeLocally()
        channel.close(promise: nil)
    }

    /// Connects to the daemon's socket.
    ///
    /// - Throws: `RPCError.socketNotFound` (ENOENT), `.permissionDenied` (EACCES),
    ///   `.connectionRefused` (stale socket), `.timedOut`, `.connectFailed`.
    public static func connect(
        path: String,
        timeout: Duration = .seconds(5),
        maxFrameSize: Int = WireFormat.defaultMaxFrameSize,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(RPCError) -> RPCClient {
        let calls = PendingCalls<Response>(path: path)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ClientConnectionHandler(calls: calls, maxFrameSize: maxFrameSize, path: path))
                    }
                }
                .connect(unixDomainSocketPath: path).get()
        } catch {
            let service = Request.serviceName
            if let io = error as? IOError {
                throw RPCError.connectError(errno: io.errnoCode, path: path, service: service)
            }
            if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                throw .timedOut(path: path, operation: "connecting to \(service)", after: timeout)
            }
            if error is SocketAddressError {
                throw .connectFailed(path: path, reason: "not a usable socket path (at most 107 bytes): \(error)")
            }
            throw .connectFailed(path: path, reason: "\(error)")
        }
        return RPCClient(path: path, channel: channel, calls: calls, maxFrameSize: maxFrameSize)
    }

    /// Sends `request` (its id is assigned here) and returns the final response. Intermediate
    /// responses of a streaming call are skipped; use `stream` to see them.
    ///
    /// - Parameter timeout: give up after this long, cancelling the call on the server.
    public func call(_ request: Request, timeout: Duration? = nil) async throws(RPCError) -> Response {
        var last: Response?
        do {
            for try await response in stream(request, timeout: timeout) { last = response }
        } catch let error as RPCError {
            throw error
        } catch {
            throw .cancelled
        }
        // A cancelled caller's stream just ends (and tells the server); say why.
        if Task.isCancelled, last?.more != false { throw .cancelled }
        guard let last, !last.more else { throw .connectionClosed(path: path) }
        return last
    }

    /// Sends `request` and yields every response to it; the stream ends after the response with
    /// `more == false`. Ending the iteration early (break, task cancellation) sends a
    /// CancelRequest so the server stops the work. Errors thrown are `RPCError`.
    public func stream(_ request: Request, timeout: Duration? = nil) -> AsyncThrowingStream<Response, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Response.self, throwing: (any Error).self)
        let id: UInt64
        switch calls.register(continuation) {
        case .failure(let error):
            continuation.finish(throwing: error)
            return stream
        case .success(let assigned):
            id = assigned
        }
        var request = request
        request.id = id
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            calls.fail(id, with: .protocolViolation(path: path, reason: "cannot encode request: \(error)"))
            return stream
        }
        guard bytes.count <= maxFrameSize else {
            calls.fail(id, with: .frameTooLarge(size: bytes.count, limit: maxFrameSize))
            return stream
        }
        let channel = self.channel
        let calls = self.calls
        let path = self.path
        let maxFrameSize = self.maxFrameSize
        let callName = request.callName
        let timer: Scheduled<Void>? = timeout.map { timeout in
            channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                if calls.fail(id, with: .timedOut(path: path, operation: "call \(callName)", after: timeout)) {
                    Self.sendCancel(of: id, channel: channel, calls: calls, maxFrameSize: maxFrameSize)
                }
            }
        }
        continuation.onTermination = { termination in
            timer?.cancel()
            if case .cancelled = termination, calls.remove(id) {
                Self.sendCancel(of: id, channel: channel, calls: calls, maxFrameSize: maxFrameSize)
            }
        }
        channel.writeAndFlush(FrameEncoder.frame(bytes, allocator: channel.allocator)).whenFailure { _ in
            calls.fail(id, with: .connectionClosed(path: path))
        }
        return stream
    }

    /// Closes the connection; calls in flight fail with `connectionClosed`.
    public func close() async {
        calls.closeLocally()
        try? await channel.close()
    }

    private static func sendCancel(of id: UInt64, channel: any Channel, calls: PendingCalls<Response>, maxFrameSize: Int) {
        guard let cancelID = calls.reserveID(),
              let bytes: [UInt8] = try? Request.cancel(id: cancelID, requestID: id).serializedBytes()
        else { return }
        channel.writeAndFlush(FrameEncoder.frame(bytes, allocator: channel.allocator), promise: nil)
    }
}

/// The calls of one client waiting for answers, shared by the caller's tasks and the channel
/// handler (which runs on the event loop), hence the lock.
final class PendingCalls<Response: RPCResponseEnvelope>: Sendable {
    typealias Continuation = AsyncThrowingStream<Response, any Error>.Continuation
    private struct State {
        var nextID: UInt64 = 1
        var waiting: [UInt64: Continuation] = [:]
        var failure: RPCError?
    }
    private let state = NIOLockedValueBox(State())
    let path: String

    init(path: String) { self.path = path }

    func register(_ continuation: Continuation) -> Result<UInt64, RPCError> {
        state.withLockedValue { state in
            if let failure = state.failure { return .failure(failure) }
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = continuation
            return .success(id)
        }
    }

    /// An id for a message no answer is awaited for (cancel requests).
    func reserveID() -> UInt64? {
        state.withLockedValue { state in
            guard state.failure == nil else { return nil }
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Hands a response to its caller; answers to ids nobody waits for (cancelled calls, cancel
    /// acknowledgements) are dropped. An id-0 answer fails every call: the server is closing.
    func deliver(_ response: Response) {
        if response.id == 0 {
            failAll(.serverRejected(path: path, code: response.code, message: response.statusMessage))
            return
        }
        let continuation: Continuation? = state.withLockedValue { state in
            response.more ? state.waiting[response.id] : state.waiting.removeValue(forKey: response.id)
        }
        guard let continuation else { return }
        continuation.yield(response)
        if !response.more { continuation.finish() }
    }

    /// Fails one call. Returns false when it had already ended.
    @discardableResult
    func fail(_ id: UInt64, with error: RPCError) -> Bool {
        let continuation = state.withLockedValue { $0.waiting.removeValue(forKey: id) }
        continuation?.finish(throwing: error)
        return continuation != nil
    }

    /// Forgets a call whose caller stopped listening. Returns false when it had already ended.
    func remove(_ id: UInt64) -> Bool {
        state.withLockedValue { $0.waiting.removeValue(forKey: id) } != nil
    }

    func failAll(_ error: RPCError) {
        let waiting = state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.finish(throwing: error) }
    }

    func closeLocally() { failAll(.closed) }
}

/// Splits the client's incoming bytes into responses and hands them to `PendingCalls`.
final class ClientConnectionHandler<Response: RPCResponseEnvelope>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let calls: PendingCalls<Response>
    private var reader: FrameReader
    private let path: String

    init(calls: PendingCalls<Response>, maxFrameSize: Int, path: String) {
        self.calls = calls
        self.reader = FrameReader(maxFrameSize: maxFrameSize)
        self.path = path
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader.append(unwrapInboundIn(data))
        do {
            while let body = try reader.nextFrame() {
                let response = try Response(serializedBytes: Array(body.readableBytesView))
                calls.deliver(response)
            }
        } catch {
            calls.failAll(.protocolViolation(path: path, reason: "\(error)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        calls.failAll(.connectionClosed(path: path))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        calls.failAll(.connectionClosed(path: path))
        context.close(promise: nil)
    }
}
