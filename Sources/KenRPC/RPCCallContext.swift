import NIOCore
import SwiftProtobuf

/// What a handler knows about the call it serves, and its way to stream responses.
public struct RPCCallContext<Response: RPCResponseEnvelope>: Sendable {
    /// The id the client gave this call.
    public let requestID: UInt64
    /// The caller, from SO_PEERCRED at accept time.
    public let peer: PeerCredentials
    let writer: FrameWriter

    init(requestID: UInt64, peer: PeerCredentials, writer: FrameWriter) {
        self.requestID = requestID
        self.peer = peer
        self.writer = writer
    }

    /// True once the client cancelled this call, disconnected, or the server is shutting down.
    public var isCancelled: Bool { Task.isCancelled }

    /// Sends an intermediate response of a stream: its id is set to `requestID` and `more` to
    /// true. Waits until the frame is handed to the socket, so a slow reader slows the stream.
    ///
    /// - Throws: `CancellationError` when the call was cancelled; `RPCError.connectionClosed`
    ///   when the client went away; `RPCStatusError(.resourceExhausted)` when the response is
    ///   larger than the frame limit.
    public func send(_ response: Response) async throws {
        try Task.checkCancellation()
        var response = response
        response.id = requestID
        response.more = true
        try await writer.write(response)
    }
}

/// Serializes and frames messages onto one channel. `writeAndFlush` of one buffer per frame keeps
/// frames whole even when several calls' tasks write at once.
struct FrameWriter: Sendable {
    let channel: any Channel
    let maxFrameSize: Int
    let path: String

    func write(_ message: some SwiftProtobuf.Message) async throws {
        let bytes: [UInt8] = try message.serializedBytes()
        guard bytes.count <= maxFrameSize else {
            throw RPCStatusError(.resourceExhausted,
                                 "response of \(bytes.count) bytes exceeds the frame limit of \(maxFrameSize) bytes")
        }
        let frame = FrameEncoder.frame(bytes, allocator: channel.allocator)
        do {
            try await channel.writeAndFlush(frame)
        } catch {
            throw RPCError.connectionClosed(path: path)
        }
    }
}
