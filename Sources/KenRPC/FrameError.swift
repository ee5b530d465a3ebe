/// Why a byte stream could not be split into frames. Any of these ends the connection: once a
/// length cannot be trusted, neither can anything after it.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length header announced more than the limit; nothing of the body was buffered.
    case tooLarge(length: UInt64, limit: Int)
    /// The length header is longer than 10 bytes or overflows 64 bits.
    case malformedLength
    /// The stream ended inside a frame.
    case truncated(bufferedBytes: Int)

    public var description: String {
        switch self {
        case .tooLarge(let length, let limit):
            return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .malformedLength:
            return "malformed frame length (varint longer than 10 bytes or over 64 bits)"
        case .truncated(let count):
            return "connection closed inside a frame (\(count) bytes of it received)"
        }
    }
}
