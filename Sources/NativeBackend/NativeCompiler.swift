import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// Why a script could not be compiled natively.
public enum NativeCompileError: Error, Sendable, CustomStringConvertible {
    /// The generator does not support something the script uses: it runs on bpftrace instead.
    case unsupported(NativeUnsupported)
    /// The resolved program has errors (unknown probe, field, …); nothing was generated.
    case unresolved(String)
    /// clang rejected the generated C, or could not run: a generator bug, reported intact.
    case clang(String)

    public var description: String {
        switch self {
        case let .unsupported(u): return "not supported natively: \(u.reason)"
        case let .unresolved(message): return message
        case let .clang(log): return "clang failed on the generated C: \(log)"
        }
    }
}

/// Compiles a resolved bpftrace program to a BPF object: C generated from Ken's AST with this
/// kernel's types, compiled by clang for `-target bpf`.
///
/// Why C and clang rather than emitting instructions: clang gives register allocation, BTF
/// and CO-RE relocations for free, and the code the verifier sees is readable C in
/// `kenc show` (docs/architecture.md, "Why generated C").
public struct NativeCompiler: Sendable {
    public let kernel: KernelInfo
    public let clangPath: String

    public init(kernel: KernelInfo, clangPath: String = "/usr/bin/clang") {
        self.kernel = kernel
        self.clangPath = clangPath
    }

    /// The C source and plan for `resolved` (no clang run).
    public func generate(_ resolved: ResolvedProgram) throws(NativeCompileError) -> (cSource: String, plan: NativePlan) {
        try ObjectGenerator(kernel: kernel, resolved: resolved).generate()
    }

    /// Generates and compiles `resolved`.
    public func compile(_ resolved: ResolvedProgram) throws(NativeCompileError) -> NativeArtifact {
        let generated = try generate(resolved)
        let object = try Clang(path: clangPath).compile(generated.cSource)
        return NativeArtifact(cSource: generated.cSource, object: object, plan: generated.plan, kernelRelease: kernel.release)
    }
}
