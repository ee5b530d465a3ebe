import Contracts
import Foundation
import KenProto
import KernelInfo
import Logging
import Synchronization
import Pipeline

/// The kernel contracts store, opened — or, on the first start on a kernel release, built
/// (about 5 s) — in the background, so kend answers its socket at once.
///
/// Before, kend built the store before it served, and the first `kenc status` after
/// installation timed out saying kend was unreachable. Now Status answers immediately; calls
/// that need the contracts (Synthesize, Verify, Apply) wait for them through `waitForStore`,
/// which streams a progress event every five seconds while they are still being built.
public final class BackgroundContracts: Sendable {
    private let task: Task<ContractStore?, Never>
    private let started = ContinuousClock.now
    private let finished = DoneFlag()
    public let release: String

    public init(stateDirectory: String, kernel: KernelInfo, logger: Logger) {
        let release = kernel.release
        self.release = release
        let finished = self.finished
        task = Task.detached(priority: .userInitiated) {
            defer { finished.set() }
            do {
                let store = try ContractStore.open(stateDirectory: stateDirectory, kernel: { kernel })
                if store.info.rebuiltNow {
                    logger.info("kernel contracts built for \(release) in \(String(format: "%.1f", store.info.buildSeconds)) s")
                }
                return store
            } catch {
                logger.error("kernel contracts unavailable, annotating without them: \(error)")
                return nil
            }
        }
    }

    /// The store as the pipeline takes it (`PipelineConfiguration.contracts`).
    public var supply: ContractsSupply {
        ContractsSupply(store: { await self.store() }, isReady: { self.isReady })
    }

    /// Whether the store is open (or failed for good); Status reports it.
    public var isReady: Bool { finished.isSet }

    /// The store, once built; nil when it could not be built.
    public func store() async -> ContractStore? { await task.value }

    /// Waits for the store, sending `progress` every `interval` while it is being built.
    public func waitForStore(interval: Duration = .seconds(5),
                             progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async {
        guard !isReady else { return }
        let release = release
        let started = started
        let reporter = Task {
            while !Task.isCancelled {
                let seconds = (ContinuousClock.now - started).components.seconds
                var event = Ken_V1_SynthesisEvent()
                event.stage = .comprehend
                event.message = "kend is building the kernel contracts for \(release) (once per kernel release): \(seconds) s so far"
                event.elapsedSeconds = Double(seconds)
                await progress(event)
                try? await Task.sleep(for: interval)
            }
        }
        _ = await task.value
        reporter.cancel()
    }
}

/// A flag set once, shared with the building task.
private final class DoneFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
