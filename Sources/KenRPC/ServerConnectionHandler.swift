import KenProto
import Logging
import NIOCore

/// Sent down a connection's pipeline when the server shuts down: stop taking calls, finish the
/// ones in flight, then close.
struct DrainConnectionEvent: Sendable {}

/// One accepted connection: splits frames, decodes requests, enforces the per-connection limits
/// and runs each call in its own task. All stored state is confined to the channel's event loop;
/// call tasks reach back only through `NIOLoopBound` and the channel (which is thread-safe).
final class ServerConnectionHandler<Handler: RPCHandler>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Request = Handler.Request
    typealias Response = Handler.Response

    private let handler: Handler
    private let peer: PeerCredentials
    private let privilege: PeerPrivilege
    private let connections: ConnectionRegistry
    private let configuration: RPCServerConfiguration
    private let path: String
    private let logger: Logger

    private var reader: FrameReader
    private var calls: [UInt64: Task<Void, Never>] = [:]
    private var readTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// No new calls: input ended or the server is shutting down. Close once `calls` is empty.
    private var draining = false
    /// A connection-level error was answered; nothing more is read or started.
    private var closing = false
    /// Whether the client has sent any byte yet (until then `unusedTimeout` applies).
    private var receivedAnything = false

    init(handler: Handler, peer: PeerCredentials, privilege: PeerPrivilege, connections: ConnectionRegistry,
         configuration: RPCServerConfiguration, path: String, logger: Logger) {
        self.handler = handler
        self.peer = peer
        self.privilege = privilege
        self.connections = connections
        self.configuration = configuration
        self.path = path
        self.logger = logger
        self.reader = FrameReader(maxFrameSize: configuration.maxFrameSize)
    }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        readTimer?.cancel()
        idleTimer?.cancel()
        // The client is gone: nobody can receive answers, so stop the work.
        for task in calls.values { task.cancel() }
        calls.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        receivedAnything = true
        reader.append(unwrapInboundIn(data))
        while !closing {
            let body: ByteBuffer?
            do {
                body = try reader.nextFrame()
            } catch {
                let code: Ken_V1_Code
                if case .tooLarge = error { code = .resourceExhausted } else { code = .invalidArgument }
                logger.notice("closing connection: \(error)", metadata: ["peer": "\(peer)"])
                failConnection(context: context, code: code, message: error.description)
                return
            }
            guard let body else { break }
            handleFrame(body, context: context)
        }
        updateReadTimer(context: context)
    }

    /// A client that sends requests but does not read the answers fills our send buffer: stop
    /// reading its requests until the socket drains, so memory stays bounded.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: context.channel.isWritable)
        if context.channel.isWritable { context.read() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainConnectionEvent {
            startDraining(context: context)
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client half-closed: answer what is in flight, then close.
            if reader.hasPartialFrame {
                failConnection(context: context, code: .invalidArgument,
                               message: FrameError.truncated(bufferedBytes: reader.bufferedBytes).description)
            } else {
                startDraining(context: context)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)", metadata: ["peer": "\(peer)"])
        context.close(promise: nil)
    }

    // MARK: Requests

    private func handleFrame(_ body: ByteBuffer, context: ChannelHandlerContext) {
        let request: Request
        do {
            request = try Request(serializedBytes: Array(body.readableBytesView))
        } catch {
            // The frame boundary was sound but its content is not our protocol: the peer speaks
            // something else, so answering further frames would be guesswork. Rule: close.
            failConnection(context: context, code: .invalidArgument,
                           message: "frame of \(body.readableBytes) bytes is not a valid \(Request.protoMessageName): \(error)")
            return
        }
        let id = request.id
        guard id != 0 else {
            failConnection(context: context, code: .invalidArgument,
                           message: "request id 0 is reserved for connection errors; number calls from 1")
            return
        }
        // From here on the error is about one call: answer it with its id and keep serving.
        guard request.hasCall else {
            answer(context: context, .failure(id: id, code: .invalidArgument,
                                              message: "request \(id) has no call set (missing, or a call this \(Request.serviceName) does not know)"))
            return
        }
        if let target = request.cancelledRequestID {
            if let task = calls[target] {
                task.cancel()
                answer(context: context, .failure(id: id, code: .ok, message: "call \(target) cancelled"))
            } else {
                answer(context: context, .failure(id: id, code: .notFound, message: "no call \(target) in flight"))
            }
            return
        }
        guard !draining else {
            answer(context: context, .failure(id: id, code: .cancelled, message: "\(Request.serviceName) is shutting down; call not started"))
            return
        }
        guard calls[id] == nil else {
            answer(context: context, .failure(id: id, code: .invalidArgument, message: "request id \(id) is already in flight on this connection"))
            return
        }
        guard calls.count < configuration.maxCallsPerConnection else {
            answer(context: context, .failure(id: id, code: .resourceExhausted,
                                              message: "too many calls in flight on one connection (limit \(configuration.maxCallsPerConnection))"))
            return
        }
        if let refusal = connections.beginCall(peer: peer, privilege: privilege, limit: configuration.maxCallsPerUID) {
            answer(context: context, .failure(id: id, code: .resourceExhausted, message: refusal))
            return
        }
        startCall(request, context: context)
    }

    private func startCall(_ request: Request, context: ChannelHandlerContext) {
        let id = request.id
        let writer = FrameWriter(channel: context.channel, maxFrameSize: configuration.maxFrameSize, path: path)
        let callContext = RPCCallContext<Response>(requestID: id, peer: peer, writer: writer)
        let handler = self.handler
        let logger = self.logger
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        let connections = self.connections
        let peer = self.peer
        idleTimer?.cancel()
        idleTimer = nil
        logger.debug("call", metadata: ["id": "\(id)", "call": "\(request.callName)", "peer": "\(peer)"])
        let task = Task { @Sendable in
            await ServerConnectionHandler<Handler>.run(handler: handler, request: request, context: callContext, writer: writer, logger: logger)
            // Counted here, not in callFinished: a closed connection forgets its calls, but every
            // started task ends exactly once.
            connections.endCall(peer: peer)
            loop.execute { bound.value.callFinished(id, context: boundContext.value) }
        }
        calls[id] = task
    }

    /// The body of a call's task: run the handler, turn its outcome into the final answer.
    private static func run(
        handler: Handler, request: Request, context: RPCCallContext<Response>, writer: FrameWriter, logger: Logger
    ) async {
        let id = request.id
        var final: Response
        do {
            final = try await handler.handle(request, context: context)
            if Task.isCancelled { final = .failure(id: id, code: .cancelled, message: "call \(id) cancelled") }
        } catch {
            final = response(for: error, id: id)
        }
        final.id = id
        final.more = false
        do {
            try await writer.write(final)
        } catch {
            if let status = error as? RPCStatusError {
                // The final answer itself was too large: say so instead.
                try? await writer.write(Response.failure(id: id, code: status.code, message: status.message))
            } else {
                logger.debug("answer to \(id) not delivered: \(error)")
            }
        }
    }

    private static func response(for error: any Error, id: UInt64) -> Response {
        if Task.isCancelled || error is CancellationError {
            return .failure(id: id, code: .cancelled, message: "call \(id) cancelled")
        }
        if let status = error as? RPCStatusError {
            return .failure(id: id, code: status.code, message: status.message, detail: status.detail, hint: status.hint)
        }
        return .failure(id: id, code: .internal, message: "\(error)")
    }

    private func callFinished(_ id: UInt64, context: ChannelHandlerContext) {
        calls.removeValue(forKey: id)
        guard calls.isEmpty, !closing else { return }
        if draining {
            context.close(promise: nil)
        } else if !reader.hasPartialFrame {
            armIdleTimer(context: context)
        }
    }

    // MARK: Answers and closing

    private func answer(context: ChannelHandlerContext, _ response: Response) {
        guard let bytes: [UInt8] = try? response.serializedBytes() else { return }
        context.writeAndFlush(wrapOutboundOut(FrameEncoder.frame(bytes, allocator: context.channel.allocator)), promise: nil)
    }

    /// Answers a connection-level failure with id 0, then closes once the answer is written.
    private func failConnection(context: ChannelHandlerContext, code: Ken_V1_Code, message: String) {
        guard !closing else { return }
        closing = true
        readTimer?.cancel()
        idleTimer?.cancel()
        for task in calls.values { task.cancel() }
        let response = Response.failure(id: 0, code: code, message: message)
        guard let bytes: [UInt8] = try? response.serializedBytes() else {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(FrameEncoder.frame(bytes, allocator: context.channel.allocator)))
            .whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func startDraining(context: ChannelHandlerContext) {
        draining = true
        idleTimer?.cancel()
        idleTimer = nil
        if calls.isEmpty { context.close(promise: nil) }
    }

    // MARK: Timers

    private func updateReadTimer(context: ChannelHandlerContext) {
        guard !closing else { return }
        if reader.hasPartialFrame {
            idleTimer?.cancel()
            idleTimer = nil
            // Measured from the frame's first byte, not reset by later trickles: a client
            // sending one byte a second cannot keep a frame open forever.
            guard readTimer == nil else { return }
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let timeout = configuration.readTimeout
            readTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                bound.value.failConnection(context: boundContext.value, code: .deadlineExceeded,
                                           message: "frame still incomplete after \(timeout); closing")
            }
        } else {
            readTimer?.cancel()
            readTimer = nil
            if calls.isEmpty && !draining { armIdleTimer(context: context) }
        }
    }

    private func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let unused = !receivedAnything
        let timeout = unused ? configuration.unusedTimeout : configuration.idleTimeout
        idleTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            bound.value.failConnection(context: boundContext.value, code: .deadlineExceeded,
                                       message: unused ? "nothing sent for \(timeout) after connecting; closing idle connection"
                                                       : "no call for \(timeout); closing idle connection")
        }
    }
}

/// Answers a connection the server cannot take (connection limit, shutting down), then closes.
final class RejectConnectionHandler<Response: RPCResponseEnvelope>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let code: Ken_V1_Code
    private let message: String

    init(code: Ken_V1_Code, message: String) {
        self.code = code
        self.message = message
    }

    func channelActive(context: ChannelHandlerContext) {
        let response = Response.failure(id: 0, code: code, message: message)
        guard let bytes: [UInt8] = try? response.serializedBytes() else {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(FrameEncoder.frame(bytes, allocator: context.channel.allocator)))
            .whenComplete { _ in bound.value.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000)
    }
}
