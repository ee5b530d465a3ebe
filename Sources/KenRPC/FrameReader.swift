import NIOCore

/// Splits an incoming byte stream into frame bodies (see `WireFormat`).
///
/// A value type fed by the channel handler: `append` what arrived, then call `nextFrame` until it
/// returns nil. The length is checked against `maxFrameSize` as soon as its varint is complete,
/// so an oversized announcement is refused before a single byte of the body is kept; at most
/// 10 header bytes are ever held while waiting for a length.
public struct FrameReader: Sendable {
    public let maxFrameSize: Int
    private var buffer: ByteBuffer
    /// The length of the frame being received, once its header has been read.
    private var pendingLength: Int?

    public init(maxFrameSize: Int = WireFormat.defaultMaxFrameSize) {
        self.maxFrameSize = max(0, maxFrameSize)
        self.buffer = ByteBuffer()
    }

    /// Whether some bytes of an unfinished frame are buffered (used for the read timeout).
    public var hasPartialFrame: Bool { pendingLength != nil || buffer.readableBytes > 0 }

    /// Bytes buffered and not yet returned.
    public var bufferedBytes: Int { buffer.readableBytes }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete frame body, or nil when more bytes are needed.
    public mutating func nextFrame() throws(FrameError) -> ByteBuffer? {
        if pendingLength == nil {
            switch WireFormat.peekVarint(in: buffer) {
            case .incomplete:
                if buffer.readableBytes >= WireFormat.maxVarintBytes { throw .malformedLength }
                return nil
            case .malformed:
                throw .malformedLength
            case .value(let length, let byteCount):
                guard length <= UInt64(maxFrameSize) else {
                    throw .tooLarge(length: length, limit: maxFrameSize)
                }
                buffer.moveReaderIndex(forwardBy: byteCount)
                pendingLength = Int(length)
            }
        }
        guard let length = pendingLength, let body = buffer.readSlice(length: length) else { return nil }
        pendingLength = nil
        // Give the memory of consumed frames back instead of growing forever.
        if buffer.readableBytes == 0 { buffer.clear() } else if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
        return body
    }

    /// Called when the peer closed: an unfinished frame is an error, nothing buffered is fine.
    public func finish() throws(FrameError) {
        if hasPartialFrame { throw .truncated(bufferedBytes: buffer.readableBytes) }
    }
}

/// Encodes frames: the varint length followed by the body.
public enum FrameEncoder {
    /// One frame holding `body`.
    public static func frame(_ body: some Collection<UInt8>, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: body.count + WireFormat.varintSize(UInt64(body.count)))
        WireFormat.writeVarint(UInt64(body.count), to: &buffer)
        buffer.writeBytes(body)
        return buffer
    }
}
