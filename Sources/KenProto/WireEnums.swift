// Hand-written (generate.sh removes only *.pb.swift): the Swift enums behind the wire enums
// whose values also have a text spelling (policy files, the registry, kenc's options and
// output), so every module that speaks the protocol shares one type and one spelling.

/// What the agent does when an extension's bpftrace child exits. Spelled as in the policy file
/// (`lifecycle.restart_policy`), `kenc attach --restart` and the registry column.
public enum RestartPolicy: String, Sendable, Equatable, CaseIterable {
    case no
    case onFailure = "on-failure"
    case always

    /// Nil for UNSPECIFIED (and unknown values from a newer peer): the caller picks the default.
    public init?(proto: Ken_V1_RestartPolicy) {
        switch proto {
        case .no: self = .no
        case .onFailure: self = .onFailure
        case .always: self = .always
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }

    public var proto: Ken_V1_RestartPolicy {
        switch self {
        case .no: return .no
        case .onFailure: return .onFailure
        case .always: return .always
        }
    }
}

/// What runs a bpftrace script, spelled as `kenc attach --backend` takes it and as list, show
/// and `--json` print it.
public enum ScriptBackend: String, Sendable, Equatable, CaseIterable {
    /// Ken's generated BPF object and the agent's output runtime: no bpftrace process.
    case native
    /// A bpftrace child the agent supervises.
    case bpftrace

    /// Nil for UNSPECIFIED (objects; in a request, native with fallback).
    public init?(proto: Ken_V1_Backend) {
        switch proto {
        case .native: self = .native
        case .bpftrace: self = .bpftrace
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }

    public var proto: Ken_V1_Backend {
        switch self {
        case .native: return .native
        case .bpftrace: return .bpftrace
        }
    }
}

extension Ken_V1_SynthesisSource {
    /// The lower-case name kenc prints ("llm", "library", "cache", "pinned"); empty when unset.
    public var name: String {
        switch self {
        case .llm: return "llm"
        case .library: return "library"
        case .cache: return "cache"
        case .pinned: return "pinned"
        case .unspecified, .UNRECOGNIZED: return ""
        }
    }
}
