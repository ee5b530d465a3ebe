import BpftraceSemantics
import Glibc
import BpftraceSyntax
import KenProto
import KenRPC
import KernelInfo
import NativeABI
import NativeBackend
import Registry

/// Which backend runs a checked script, decided by the agent after its policy check: Ken's own
/// code generator and output runtime (no bpftrace process), or a bpftrace child with the reason.
enum BackendChoice: Sendable {
    case native(NativeArtifact)
    /// `note`: what the agent's notes should keep beyond the reason (a clang log).
    case bpftrace(reason: String, note: String?)

    var backend: ExtensionBackend {
        if case .native = self { return .native }
        return .bpftrace
    }

    var reason: String {
        if case let .bpftrace(reason, _) = self { return reason }
        return ""
    }

    var artifact: NativeArtifact? {
        if case let .native(artifact) = self { return artifact }
        return nil
    }

    var proto: Ken_V1_Backend { backend.proto }
}

/// Compiles scripts for the native backend inside the agent. The kernel facts (BTF index,
/// tracefs formats) are read once, on first use, and shared (`KernelInfo.shared()`); an agent
/// that only ever runs objects never reads them.
struct NativeBuilder: Sendable {
    /// The reason recorded when the caller forced bpftrace.
    static let forcedReason = "requested with --backend bpftrace"

    var clangPath = "/usr/bin/clang"
    /// Objects compiled for recent verify-only and attach calls (see `NativeArtifactCache`).
    let cache = NativeArtifactCache()

    /// Resolves `text` (the checked script as the agent prepared it: annotations stripped) against
    /// this kernel and compiles it. Never throws: what cannot run natively is a bpftrace choice
    /// with the reason.
    func compile(_ text: String) -> BackendChoice {
        // clang reads the C from a file (no pipe to break), but the agent writes to other pipes
        // and sockets: a closed one must be an EPIPE error, not SIGPIPE ending the agent.
        // bpftrace children are spawned with default dispositions, so this does not reach them.
        signal(SIGPIPE, SIG_IGN)
        let kernel = KernelInfo.shared()
        guard let program = Parser.parse(source: text, file: "extension.bt").program else {
            return .bpftrace(reason: "the agent's copy of the script does not parse for the native backend", note: nil)
        }
        let resolved = Resolver(kernel: kernel).resolve(program)
        if resolved.hasErrors {
            let first = resolved.diagnostics.first { $0.severity == .error }?.message ?? "unknown error"
            return .bpftrace(reason: "does not resolve for the native backend: \(first)", note: nil)
        }
        do {
            return .native(try NativeCompiler(kernel: kernel, clangPath: clangPath).compile(resolved))
        } catch {
            switch error {
            case let .unsupported(unsupported):
                return .bpftrace(reason: unsupported.reason, note: nil)
            case let .unresolved(message):
                return .bpftrace(reason: "does not resolve for the native backend: \(Self.firstLine(message))", note: nil)
            case let .clang(log):
                return .bpftrace(reason: "the native code generator failed (clang rejected the generated C)",
                                 note: "native code generation failed, running on bpftrace instead; clang said:\n\(Self.bounded(log))")
            }
        }
    }

    /// `compile`, reusing the object compiled for the same caller, text and kernel a moment ago
    /// (a verify-only before its attach).
    func compile(_ text: String, uid: UInt32) -> BackendChoice {
        let key = NativeArtifactCache.key(text: text, uid: uid)
        if let cached = cache.artifact(for: key) { return .native(cached) }
        let choice = compile(text)
        if let artifact = choice.artifact { cache.store(artifact, for: key) }
        return choice
    }

    /// The backend for a request from `uid`: `BPFTRACE` is forced, `NATIVE` must compile (else
    /// the reason is the caller's error), `UNSPECIFIED` falls back to bpftrace.
    func choose(_ text: String, requested: Ken_V1_Backend, uid: UInt32) throws(RPCStatusError) -> BackendChoice {
        switch requested {
        case .bpftrace:
            return .bpftrace(reason: Self.forcedReason, note: nil)
        case .native:
            let choice = compile(text, uid: uid)
            if case let .bpftrace(reason, note) = choice {
                throw RPCStatusError(.failedPrecondition, "the script cannot run on the native backend: \(reason)",
                                     detail: note ?? "", hint: "leave out --backend native to run it on bpftrace")
            }
            return choice
        case .unspecified:
            return compile(text, uid: uid)
        case .UNRECOGNIZED(let value):
            throw RPCStatusError(.invalidArgument, "unknown backend \(value)", hint: "use native or bpftrace")
        }
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? Substring(text))
    }

    static func bounded(_ text: String, bytes: Int = 8192) -> String {
        text.utf8.count <= bytes ? text : String(decoding: Array(text.utf8.prefix(bytes)), as: UTF8.self) + "\n…"
    }
}
