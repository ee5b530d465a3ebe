import Dispatch
import Foundation

/// Waits for SIGTERM or SIGINT without a C signal handler: the signals are blocked for the
/// process's default action and delivered to a dispatch source instead, so shutdown runs as
/// ordinary Swift code (close the socket, let calls finish).
public enum SignalWaiter {
    /// Returns the first of `signals` that arrives.
    public static func wait(for signals: [Int32] = [SIGTERM, SIGINT]) async -> Int32 {
        await withCheckedContinuation { continuation in
            let state = Once()
            var sources: [any DispatchSourceSignal] = []
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if state.fire() { continuation.resume(returning: number) }
                }
                source.resume()
                sources.append(source)
            }
            // The sources must live as long as the process waits; they are few and process-wide.
            SignalWaiter.retained.keep(sources)
        }
    }

    private static let retained = Retained()

    /// Keeps the signal sources alive for the life of the process.
    private final class Retained: @unchecked Sendable {
        // Guarded by `lock`; dispatch sources are thread-safe objects, only the array is not.
        private let lock = NSLock()
        private var sources: [any DispatchSourceSignal] = []
        func keep(_ more: [any DispatchSourceSignal]) {
            lock.lock(); defer { lock.unlock() }
            sources.append(contentsOf: more)
        }
    }

    private final class Once: @unchecked Sendable {
        // Guarded by `lock`; resumes the continuation at most once.
        private let lock = NSLock()
        private var fired = false
        func fire() -> Bool {
            lock.lock(); defer { lock.unlock() }
            if fired { return false }
            fired = true
            return true
        }
    }
}
