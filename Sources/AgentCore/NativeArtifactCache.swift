import Digest
import KernelInfo
import NativeABI
import Synchronization

/// The objects the agent compiled recently, so the attach that follows a verify-only of the
/// same script (`kenc synth` then `--attach`, `kenc attach --dry-run` then `kenc attach`, a fleet
/// check then its apply) loads in milliseconds instead of running clang again: clang's start
/// alone is about 30 ms on Debian's build (it maps libLLVM), most of a native attach.
///
/// An entry is keyed by everything the object depends on: the exact checked script text the
/// policy approved, the kernel release (the types and offsets came from its BTF and tracefs),
/// the plan version, and the caller's uid — so one user cannot learn by timing whether another
/// compiled a script, and a cached object is only ever the one this text would compile to now.
/// Only successful compilations are kept (a refusal is cheap to find again); the cache is
/// bounded in entries and bytes and forgets the oldest first. It lives in memory only: the
/// registry keeps the artifact of every attached extension.
final class NativeArtifactCache: Sendable {
    struct Key: Hashable, Sendable {
        var digest: [UInt8]
        var uid: UInt32
    }

    private struct State {
        var entries: [Key: NativeArtifact] = [:]
        /// Keys oldest first.
        var order: [Key] = []
        var bytes = 0
        var hits = 0
        var misses = 0
    }

    let maxEntries: Int
    let maxBytes: Int
    private let state = Mutex(State())

    init(maxEntries: Int = 64, maxBytes: Int = 16 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    static func key(text: String, uid: UInt32, kernelRelease: String = KernelInfo.runningRelease()) -> Key {
        var hash = SHA256()
        hash.update("ken-native-artifact\0plan \(NativePlan.currentVersion)\0release \(kernelRelease)\0")
        hash.update(text)
        return Key(digest: hash.finalize(), uid: uid)
    }

    func artifact(for key: Key) -> NativeArtifact? {
        state.withLock { state in
            guard let found = state.entries[key] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            return found
        }
    }

    func store(_ artifact: NativeArtifact, for key: Key) {
        let size = Self.size(of: artifact)
        guard size <= maxBytes else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) {
                state.bytes -= Self.size(of: old)
                state.order.removeAll { $0 == key }
            }
            state.entries[key] = artifact
            state.order.append(key)
            state.bytes += size
            while state.entries.count > maxEntries || state.bytes > maxBytes, let oldest = state.order.first {
                state.order.removeFirst()
                if let evicted = state.entries.removeValue(forKey: oldest) { state.bytes -= Self.size(of: evicted) }
            }
        }
    }

    /// Entries, bytes held, hits and misses (for tests and Status-style reporting).
    var statistics: (entries: Int, bytes: Int, hits: Int, misses: Int) {
        state.withLock { ($0.entries.count, $0.bytes, $0.hits, $0.misses) }
    }

    private static func size(of artifact: NativeArtifact) -> Int {
        artifact.object.count + artifact.cSource.utf8.count + 4096
    }
}
