import CBPF
import Glibc

/// An epoll set of fds, each with a 64-bit token: one thread waits on many ring buffers
/// (`BPFRingBuffer.pollFD`) and learns which are ready.
public final class PollSet: Sendable {
    private let fd: BPFFileDescriptor

    public init() throws {
        let raw = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard raw >= 0 else { throw BPFError(.ringBuffer, errno: currentErrno(), subject: "epoll_create1") }
        fd = BPFFileDescriptor(owning: raw)
    }

    /// Watches `watched` for readability, reporting it as `token`.
    public func add(_ watched: Int32, token: UInt64) throws {
        if ken_epoll_add(fd.rawValue, watched, token) != 0 {
            throw BPFError(.ringBuffer, errno: currentErrno(), subject: "epoll add fd \(watched)")
        }
    }

    /// Stops watching `watched` (no error if it was not watched).
    public func remove(_ watched: Int32) {
        _ = ken_epoll_del(fd.rawValue, watched)
    }

    /// Waits until something is ready (or `timeoutMilliseconds` pass; -1 waits forever) and
    /// returns the ready tokens; empty on timeout or interruption.
    public func wait(timeoutMilliseconds: Int32 = -1) -> [UInt64] {
        var tokens = [UInt64](repeating: 0, count: 64)
        let ready = tokens.withUnsafeMutableBufferPointer { buffer in
            ken_epoll_wait(fd.rawValue, buffer.baseAddress, 64, timeoutMilliseconds)
        }
        return ready > 0 ? Array(tokens.prefix(Int(ready))) : []
    }
}
