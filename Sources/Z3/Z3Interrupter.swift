import CZ3
import Synchronization

/// Stops a running `check` of one context from another thread (task cancellation).
///
/// `@unchecked Sendable` because it holds a raw context pointer, which is only ever used for
/// `Z3_interrupt` — documented by Z3 as callable from another thread while the context works —
/// and only under `mutex`, which the context's deinit also takes to clear the pointer before
/// the context is deleted. So the pointer is never used after free, and nothing else of the
/// context is reachable through this object.
public final class Z3Interrupter: @unchecked Sendable {
    /// The context's address (0 once the context is gone); kept as an integer because a raw
    /// pointer cannot be moved into a `Mutex`.
    private let mutex: Mutex<UInt>

    init(_ context: Z3_context) {
        mutex = Mutex(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))))
    }

    /// Makes the current (and only the current) solver call of the context return `unknown`
    /// with reason "canceled". Harmless when nothing runs or the context is gone.
    public func interrupt() {
        mutex.withLock { address in
            if let context = OpaquePointer(bitPattern: address) { Z3_interrupt(context) }
        }
    }

    func invalidate() {
        mutex.withLock { $0 = 0 }
    }
}
