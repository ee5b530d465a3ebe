/// Admits at most `capacity` verify-only loads at once; later calls wait in arrival order and are
/// told their place whenever it changes. Sixty simultaneous verify-only calls once started 65 root
/// bpftrace processes (3.75 GB); through the queue they run `capacity` at a time.
actor VerifyQueue {
    let capacity: Int
    private var running = 0
    private var nextTicket: UInt64 = 0
    /// Waiting tickets, oldest first.
    private var waiting: [UInt64] = []
    /// Waiters suspended until the queue changes.
    private var wakeups: [UInt64: CheckedContinuation<Void, Never>] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Waits for a slot; `progress` is called with the caller's place (1: next) each time it
    /// changes while it waits. Pair every successful return with `leave()`.
    ///
    /// - Throws: `CancellationError` if the calling task is cancelled while waiting.
    func enter(progress: @Sendable (Int) async -> Void) async throws {
        let ticket = nextTicket
        nextTicket += 1
        waiting.append(ticket)
        var reported = 0
        while true {
            if Task.isCancelled {
                waiting.removeAll { $0 == ticket }
                wakeAll()
                throw CancellationError()
            }
            if running < capacity, waiting.first == ticket {
                waiting.removeFirst()
                running += 1
                wakeAll()
                return
            }
            let place = (waiting.firstIndex(of: ticket) ?? 0) + 1
            if place != reported {
                reported = place
                await progress(place)
                continue  // the queue may have moved while reporting
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    // A cancel that arrived before this point found nothing to wake.
                    if Task.isCancelled { continuation.resume() } else { wakeups[ticket] = continuation }
                }
            } onCancel: {
                Task { await self.wake(ticket) }
            }
        }
    }

    func leave() {
        running -= 1
        wakeAll()
    }

    /// Calls running and waiting, for status and tests.
    var counts: (running: Int, waiting: Int) { (running, waiting.count) }

    private func wake(_ ticket: UInt64) {
        wakeups.removeValue(forKey: ticket)?.resume()
    }

    private func wakeAll() {
        let all = wakeups
        wakeups.removeAll()
        for continuation in all.values { continuation.resume() }
    }
}
