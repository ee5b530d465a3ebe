import BPF
import Foundation

/// Something the reactor wakes when its ring buffer has records.
protocol RingBufferClient: AnyObject, Sendable {
    func drainFromReactor()
}

/// One thread for every native extension's output: an epoll over each extension's ring-buffer
/// poll fd (itself an epoll libbpf keeps), calling the extension's drain when records wait.
///
/// Why one thread and not one per extension: a thread costs a stack (8 MiB virtual, tens of KiB
/// resident) and a wakeup; the per-extension memory target is under 1 MiB, and output rates are
/// bounded by how fast one thread formats text anyway. The thread starts with the first
/// extension and then waits in `epoll_wait` for as long as the agent runs, waking at least once
/// a second to drain every extension (records submitted without a wakeup, lost counts).
final class RingBufferReactor: @unchecked Sendable {
    static let shared = RingBufferReactor()

    private let poll: PollSet?
    private let lock = NSLock()
    private var clients: [UInt64: RingBufferClient] = [:]
    private var nextToken: UInt64 = 1
    private var started = false

    private init() {
        poll = try? PollSet()
    }

    /// Starts waking `client` when `pollFD` is readable; returns the token to unregister with.
    func register(_ client: RingBufferClient, pollFD: Int32) throws(NativeRuntimeError) -> UInt64 {
        let token: UInt64 = lock.withLock {
            defer { nextToken += 1 }
            clients[nextToken] = client
            return nextToken
        }
        do {
            guard let poll else { throw BPFError(.ringBuffer, errno: EMFILE, subject: "epoll_create1") }
            try poll.add(pollFD, token: token)
        } catch {
            _ = lock.withLock { clients.removeValue(forKey: token) }
            throw .other("cannot watch the ring buffer: \(error)")
        }
        startIfNeeded()
        return token
    }

    /// Stops waking the client. A drain already running on the reactor thread may still finish.
    func unregister(token: UInt64, pollFD: Int32) {
        poll?.remove(pollFD)
        _ = lock.withLock { clients.removeValue(forKey: token) }
    }

    var clientCount: Int { lock.withLock { clients.count } }

    private func startIfNeeded() {
        let start: Bool = lock.withLock {
            defer { started = true }
            return !started
        }
        guard start else { return }
        let thread = Thread { [self] in run() }
        thread.name = "ken-native-output"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run() {
        guard let poll else { return }
        while true {
            let ready = poll.wait(timeoutMilliseconds: 1000)
            if ready.isEmpty {
                // A quiet second (or an interruption): drain everyone once, so records written
                // without a wakeup (BPF_RB_NO_WAKEUP) and lost counts still show within a second.
                usleep(1000)
                for client in lock.withLock({ Array(clients.values) }) { client.drainFromReactor() }
                continue
            }
            for token in ready {
                guard let client = lock.withLock({ clients[token] }) else { continue }
                client.drainFromReactor()
            }
        }
    }
}
