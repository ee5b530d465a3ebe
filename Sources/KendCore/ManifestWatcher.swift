import Fleet
import Foundation
import KenProto
import Logging
import Synchronization

/// Applies a manifest directory whenever it changes (kend's "apply on change").
///
/// Polls the directory's fingerprint (names, sizes, modification times) rather than using
/// inotify: it works the same on every file system a ConfigMap or a config-management tool
/// writes to, and the interval bounds the work. The first pass applies at start.
public final class ManifestWatcher: Sendable {
    let directory: String
    let interval: Duration
    let prune: Bool
    let applier: FleetApplier
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(directory: String, interval: Duration, prune: Bool, applier: FleetApplier, logger: Logger) {
        self.directory = directory
        self.interval = interval
        self.prune = prune
        self.applier = applier
        self.logger = logger
    }

    public func start() {
        let work = Task { [self] in
            var last = ""
            while !Task.isCancelled {
                let fingerprint = ManifestLoader.fingerprint(path: directory)
                if fingerprint != last {
                    last = fingerprint
                    await applyOnce()
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = work }
    }

    public func stop() {
        task.withLock { $0?.cancel() }
    }

    /// One pass: read, apply, log what changed.
    public func applyOnce() async {
        let manifests: [Manifest]
        do {
            manifests = try ManifestLoader.load(path: directory)
        } catch {
            logger.error("manifests not applied: \(error)")
            return
        }
        do {
            let reply = try await applier.apply(Ken_V1_ApplyRequest.with {
                $0.manifests = manifests.map(\.proto)
                $0.prune = prune
            })
            for action in reply.actions where action.action != "unchanged" {
                logger.notice("apply \(action.name): \(action.action) \(action.extensionID) \(action.message)")
            }
            if !reply.changed && !reply.failed {
                logger.info("apply: \(manifests.count) manifest(s), nothing to change")
            }
        } catch {
            logger.error("apply failed: \(error)")
        }
    }
}
