import BPF
import Foundation
import NativeABI

/// Why the runtime could not load, attach, adopt or stop a native extension.
public enum NativeRuntimeError: Error, Sendable, CustomStringConvertible {
    /// The kernel verifier rejected a program: the log intact.
    case rejected(program: String, verifierLog: String, libbpfLog: String)
    /// Attaching a program (or opening its perf event) failed.
    case attachFailed(program: String, String)
    /// Pins are missing or not what the plan says (after a reboot: load again).
    case notPinned(String)
    case other(String)

    public var description: String {
        switch self {
        case let .rejected(program, log, libbpf): return "the kernel verifier rejected \(program): \(log.isEmpty ? libbpf : log)"
        case let .attachFailed(program, why): return "attaching \(program) failed: \(why)"
        case let .notPinned(why): return "not pinned: \(why)"
        case let .other(why): return why
        }
    }
}

/// A native extension in the kernel: its programs attached and pinned under
/// `<pinRoot>/<id>/`, its maps pinned beside them, and the output runtime reading its ring
/// buffer into `<outputDirectory>/stdout.log` as bpftrace's `-f json` lines.
public final class NativeExtension: Sendable {
    public let id: String

    init(id: String) { self.id = id }

    /// Loads every program through the kernel verifier and unloads it again: nothing attached,
    /// nothing pinned, no BEGIN run.
    public static func verifyOnly(_ artifact: NativeArtifact) throws(NativeRuntimeError) -> [KernelProgramInfo] {
        throw .other("the native runtime is not built yet")
    }

    /// Loads, pins, attaches, runs BEGIN and starts reading output. `onExit` is called (once)
    /// when the program calls `exit()`, after END ran and the maps were printed.
    public static func start(_ artifact: NativeArtifact, id: String, pinRoot: String, outputDirectory: String,
                             onExit: @escaping @Sendable (String) -> Void) throws(NativeRuntimeError) -> NativeExtension {
        throw .other("the native runtime is not built yet")
    }

    /// Takes over an extension a previous agent started, from its pins and plan.
    public static func adopt(plan: NativePlan, id: String, pinRoot: String, outputDirectory: String,
                             onExit: @escaping @Sendable (String) -> Void) throws(NativeRuntimeError) -> NativeExtension {
        throw .notPinned("the native runtime is not built yet")
    }

    /// Stops: detaches the probes, runs END, prints every map, removes the pins.
    public func stop() throws(NativeRuntimeError) {
        throw .other("the native runtime is not built yet")
    }

    /// Removes what an extension left pinned when it cannot be adopted (no END, no output).
    public static func removePins(id: String, pinRoot: String) {}

    /// The kernel ids of its programs and links, for list/show.
    public var programIDs: [UInt32] { [] }
    public var linkIDs: [UInt32] { [] }
}
