import Synchronization
import Z3

/// Carries a task cancellation to the Z3 context of a verification that may not exist yet
/// (cancellation can arrive before the context is made).
final class CancellationRelay: Sendable {
    private struct State {
        var cancelled = false
        var interrupter: Z3Interrupter?
    }

    private let state = Mutex(State())

    func attach(_ interrupter: Z3Interrupter) {
        let cancelled = state.withLock { state in
            state.interrupter = interrupter
            return state.cancelled
        }
        if cancelled { interrupter.interrupt() }
    }

    func cancel() {
        let interrupter = state.withLock { state in
            state.cancelled = true
            return state.interrupter
        }
        interrupter?.interrupt()
    }
}
