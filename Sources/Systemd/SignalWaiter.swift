import Dispatch
import Foundation

/// Turns the given signals into an async event (DispatchSource), after ignoring their default
/// action so the process is not killed before it can shut down in order. Both daemons create
/// one first thing in `main`, so a stop during start-up is orderly too.
public final class SignalWaiter: @unchecked Sendable {
    /// Kept alive for the life of the process; never mutated after init.
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        sources = signals.map { number in
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// The next of the signals to arrive.
    public func next() async -> Int32 {
        for await number in stream { return number }
        return SIGTERM
    }
}
