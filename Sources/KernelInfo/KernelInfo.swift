import Foundation

/// Everything Ken knows about the running kernel: release, tracefs, BTF and the probe
/// catalogue built from them. Parts that are missing (no tracefs in a container, no BTF on an
/// old kernel) are nil with the reason in `problems`, so a check can still say precisely
/// what it cannot verify.
public final class KernelInfo: Sendable {
    /// `uname -r`.
    public let release: String
    public let tracefs: Tracefs?
    public let btf: KernelBTF?
    public let catalogue: ProbeCatalogue
    /// Why `tracefs` or `btf` is nil.
    public let problems: [KernelInfoError]
    /// How long loading took, per part.
    public let timings: LoadTimings

    /// Wall-clock cost of `load()`, in seconds.
    public struct LoadTimings: Sendable, Hashable, CustomStringConvertible {
        public var btf: Double
        public var tracefs: Double
        public var total: Double

        public init(btf: Double, tracefs: Double, total: Double) {
            self.btf = btf
            self.tracefs = tracefs
            self.total = total
        }

        public var description: String {
            String(format: "btf %.1f ms, tracefs %.1f ms, total %.1f ms", btf * 1000, tracefs * 1000, total * 1000)
        }
    }

    public init(release: String, tracefs: Tracefs?, btf: KernelBTF?, problems: [KernelInfoError] = [],
                timings: LoadTimings = LoadTimings(btf: 0, tracefs: 0, total: 0)) {
        self.release = release
        self.tracefs = tracefs
        self.btf = btf
        self.catalogue = ProbeCatalogue(tracefs: tracefs, btf: btf)
        self.problems = problems
        self.timings = timings
    }

    /// Reads the running kernel. Never throws: missing parts are recorded in `problems`.
    public static func load(tracefsRoots: [String] = Tracefs.defaultRoots) -> KernelInfo {
        let start = DispatchTime.now()
        var problems: [KernelInfoError] = []
        var btf: KernelBTF?
        do {
            btf = try KernelBTF.loadVmlinux()
        } catch {
            problems.append(error)
        }
        let afterBTF = DispatchTime.now()
        var tracefs: Tracefs?
        do {
            tracefs = try Tracefs(roots: tracefsRoots, btf: btf)
        } catch {
            problems.append(error)
        }
        let end = DispatchTime.now()
        let timings = LoadTimings(btf: seconds(start, afterBTF), tracefs: seconds(afterBTF, end),
                                  total: seconds(start, end))
        return KernelInfo(release: FileReading.kernelRelease(), tracefs: tracefs, btf: btf,
                          problems: problems, timings: timings)
    }

    /// The process-wide instance for the running kernel, loaded once: kend checks many
    /// programs and must not re-index BTF for each.
    public static func shared() -> KernelInfo {
        SharedKernelInfo.instance.get()
    }

    private static func seconds(_ a: DispatchTime, _ b: DispatchTime) -> Double {
        Double(b.uptimeNanoseconds &- a.uptimeNanoseconds) / 1e9
    }
}

final class SharedKernelInfo: @unchecked Sendable {
    static let instance = SharedKernelInfo()
    private let lock = NSLock()
    private var value: KernelInfo?

    func get() -> KernelInfo {
        lock.lock()
        defer { lock.unlock() }
        if let value, value.release == FileReading.kernelRelease() { return value }
        let loaded = KernelInfo.load()
        value = loaded
        return loaded
    }
}

extension KernelInfo {
    /// `uname -r` of the running kernel, without loading anything else.
    public static func runningRelease() -> String { FileReading.kernelRelease() }
}
