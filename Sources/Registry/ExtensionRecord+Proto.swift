import KenProto

extension ExtensionKind {
    public var proto: Ken_V1_ProgramKind {
        switch self {
        case .bpftrace: return .bpftrace
        case .bpfObject: return .bpfObject
        }
    }

    public init?(proto: Ken_V1_ProgramKind) {
        switch proto {
        case .bpftrace: self = .bpftrace
        case .bpfObject: self = .bpfObject
        default: return nil
        }
    }
}

extension ExtensionState {
    public var proto: Ken_V1_ExtensionState {
        switch self {
        case .attaching: return .attaching
        case .attached: return .attached
        case .failed: return .failed
        case .detached: return .detached
        case .detaching: return .detaching
        }
    }

    public init?(proto: Ken_V1_ExtensionState) {
        switch proto {
        case .attaching: self = .attaching
        case .attached: self = .attached
        case .failed: self = .failed
        case .detached: self = .detached
        case .detaching: self = .detaching
        default: return nil
        }
    }
}

extension ExtensionRecord {
    /// The wire form. Object bytes are never sent back (only their digest); memlock comes from
    /// the kernel at the time of the call, not from the registry.
    public func proto(memlockBytes: UInt64 = 0) -> Ken_V1_Extension {
        var e = Ken_V1_Extension()
        e.id = id
        e.name = name
        e.ownerUid = ownerUID
        e.kind = kind.proto
        e.programText = programText
        e.objectSha256 = objectSHA256
        e.prompt = prompt
        e.annotatedProgram = annotatedProgram
        e.progIds = progIDs
        e.linkIds = linkIDs
        e.state = state.proto
        e.createdUnixMs = createdUnixMs
        e.changedUnixMs = changedUnixMs
        e.lastError = lastError
        e.memlockBytes = memlockBytes
        e.pid = pid
        e.probes = probes
        e.pinDir = pinDir
        e.restart = restartPolicy.proto
        e.restarts = restarts
        e.manifestDigest = manifestDigest
        e.verdict = verdict.proto
        e.provenAsserts = provenAsserts.map(\.proto)
        e.unprovenReason = unprovenReason
        e.backend = backend.proto
        e.backendReason = backendReason
        return e
    }

    /// A record from the wire form (object bytes are not part of it). Nil when the kind or
    /// state is unspecified.
    public init?(proto e: Ken_V1_Extension) {
        guard let kind = ExtensionKind(proto: e.kind), let state = ExtensionState(proto: e.state) else { return nil }
        self.init(
            id: e.id, name: e.name, ownerUID: e.ownerUid, kind: kind, programText: e.programText,
            objectSHA256: e.objectSha256, prompt: e.prompt, annotatedProgram: e.annotatedProgram,
            progIDs: e.progIds, linkIDs: e.linkIds, pid: e.pid, probes: e.probes, pinDir: e.pinDir,
            state: state, restartPolicy: RestartPolicy(proto: e.restart) ?? .no, restarts: e.restarts,
            createdUnixMs: e.createdUnixMs, changedUnixMs: e.changedUnixMs, lastError: e.lastError,
            manifestDigest: e.manifestDigest, verdict: ProofVerdict(proto: e.verdict),
            provenAsserts: e.provenAsserts.map(ProvenClaim.init(proto:)), unprovenReason: e.unprovenReason,
            backend: ExtensionBackend(proto: e.backend), backendReason: e.backendReason)
    }
}

extension ProofVerdict {
    public var proto: Ken_V1_ExtensionVerdict {
        switch self {
        case .none: return .unspecified
        case .proven: return .proven
        case .checked: return .checked
        }
    }

    public init(proto: Ken_V1_ExtensionVerdict) {
        switch proto {
        case .proven: self = .proven
        case .checked: self = .checked
        default: self = .none
        }
    }
}

extension ProvenClaim {
    static let claimants: [Ken_V1_ClaimedBy: String] = [.prompt: "prompt", .llm: "llm", .contract: "contract", .program: "program"]

    public var proto: Ken_V1_ProvenAssert {
        var out = Ken_V1_ProvenAssert()
        out.text = text
        out.line = line
        out.column = column
        out.claimedBy = Self.claimants.first { $0.value == claimedBy }?.key ?? .unspecified
        return out
    }

    public init(proto: Ken_V1_ProvenAssert) {
        self.init(text: proto.text, line: proto.line, column: proto.column,
                  claimedBy: Self.claimants[proto.claimedBy] ?? "")
    }
}

extension ExtensionBackend {
    /// The wire form. `.none` stays unspecified (objects; scripts recorded before backends
    /// existed, which clients show as bpftrace).
    public var proto: Ken_V1_Backend {
        switch self {
        case .native: return .native
        case .bpftrace: return .bpftrace
        case .none: return .unspecified
        }
    }

    public init(proto: Ken_V1_Backend) {
        switch proto {
        case .native: self = .native
        case .bpftrace: self = .bpftrace
        default: self = .none
        }
    }
}
