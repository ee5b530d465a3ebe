import CBPF
import Foundation

/// A consumer of one `BPF_MAP_TYPE_RINGBUF` map (libbpf's `ring_buffer`): records are read in
/// the order the programs submitted them.
///
/// Waiting is the caller's choice: `pollFD` is an epoll fd that becomes readable when records
/// arrive, so one thread can wait on many ring buffers with one epoll of its own and call
/// `consume` on the ready ones.
///
/// Not thread-safe (libbpf's consumer position is plain memory): serialize `consume` calls.
public final class BPFRingBuffer: @unchecked Sendable {
    private var handle: OpaquePointer?
    private let sink: Unmanaged<RecordSink>
    public let mapName: String

    /// Maps the ring buffer's pages (the data pages read-only). The map fd may be closed after.
    public init(map: BPFMap) throws {
        let sink = Unmanaged.passRetained(RecordSink())
        Glibc.errno = 0
        guard let rb = LibbpfLog.shared.capture({ _ in
            ring_buffer__new(map.fd.rawValue, ringBufferSample, sink.toOpaque(), nil)
        }) else {
            let code = currentErrno()
            sink.release()
            throw BPFError(.ringBuffer, errno: code, subject: "map \(map.name)")
        }
        handle = rb
        self.sink = sink
        mapName = map.name
    }

    deinit {
        if let handle { ring_buffer__free(handle) }
        sink.release()
    }

    /// An epoll fd that is readable while records wait.
    public var pollFD: Int32 {
        guard let handle else { return -1 }
        return ring_buffer__epoll_fd(handle)
    }

    /// Hands every record available now to `handler` (the bytes are valid only during the call)
    /// and returns how many there were.
    @discardableResult
    public func consume(_ handler: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        guard let handle else { return 0 }
        return try withoutActuallyEscaping(handler) { escapable in
            let box = sink.takeUnretainedValue()
            box.handler = escapable
            defer { box.handler = nil }
            let rc = ring_buffer__consume(handle)
            if rc < 0 { throw BPFError(.ringBuffer, errno: currentErrno(rc), subject: "consume \(mapName)") }
            return Int(rc)
        }
    }
}

/// Where the C callback delivers records during `consume`.
private final class RecordSink {
    var handler: ((UnsafeRawBufferPointer) -> Void)?
}

private let ringBufferSample: ring_buffer_sample_fn = { context, data, size in
    guard let context else { return 0 }
    let sink = Unmanaged<RecordSink>.fromOpaque(context).takeUnretainedValue()
    sink.handler?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
