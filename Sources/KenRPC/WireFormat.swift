import NIOCore

/// # Ken's wire format
///
/// Both daemons (ken-agent and kend) speak the same framing over an `AF_UNIX` stream socket:
///
/// ```
/// frame    = length body
/// length   = varint          ; base-128, least significant group first, high bit = "more"
/// body     = length bytes    ; one protobuf-encoded envelope
/// ```
///
/// * Client → server bodies are `ken.v1.AgentRequest` / `ken.v1.KendRequest`; server → client
///   bodies are `AgentResponse` / `KendResponse`. This is protobuf's own "length-delimited"
///   stream format (`writeDelimitedTo` in the C++/Java runtimes).
/// * `length` is at most 10 bytes and must fit in 64 bits; longer or overflowing varints are
///   malformed. A `length` above the receiver's limit (default 4 MiB) is refused as soon as the
///   varint is read — before any of the body is buffered.
/// * Every request carries a client-chosen `id` (non-zero, unique among the connection's calls in
///   flight). Every response carries the id it answers. A call gets exactly one response with
///   `more == false`, preceded, for streaming calls, by any number with `more == true`.
/// * Requests may be pipelined; responses to different ids may interleave.
/// * `CancelRequest{request_id}` ends the call `request_id` early: the server answers that call
///   with a final `CANCELLED` response and answers the cancel request itself (`OK`, or
///   `NOT_FOUND` when no such call is in flight). Closing the connection cancels every call.
/// * Responses with id 0 concern the connection, not a call: a frame that cannot be read
///   (too large, malformed length, not a valid envelope, read or idle timeout). The server closes
///   the connection after sending one; the framing can no longer be trusted.
public enum WireFormat {
    /// The default largest frame body either side accepts: 4 MiB.
    public static let defaultMaxFrameSize = 4 * 1024 * 1024
    /// A 64-bit varint takes at most 10 bytes.
    public static let maxVarintBytes = 10

    /// Appends `value` as a base-128 varint.
    public static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        var remaining = value
        while remaining >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: remaining))
    }

    /// The encoded size of `value` as a varint.
    public static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var remaining = value >> 7
        while remaining != 0 { size += 1; remaining >>= 7 }
        return size
    }

    /// Outcome of reading a varint from the front of a buffer without consuming it.
    public enum VarintParse: Equatable, Sendable {
        /// More bytes are needed.
        case incomplete
        /// The value and how many bytes it took.
        case value(UInt64, byteCount: Int)
        /// Longer than 10 bytes, or does not fit in 64 bits.
        case malformed
    }

    /// Reads a varint at the buffer's reader index, without moving it.
    public static func peekVarint(in buffer: ByteBuffer) -> VarintParse {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = 0
        for byte in buffer.readableBytesView {
            if index == maxVarintBytes - 1 {
                // The 10th byte may only contribute the 64th bit and must end the varint.
                guard byte <= 1 else { return .malformed }
            }
            result |= UInt64(byte & 0x7f) << shift
            index += 1
            if byte & 0x80 == 0 { return .value(result, byteCount: index) }
            shift += 7
        }
        return .incomplete
    }
}
