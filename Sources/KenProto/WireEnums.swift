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
