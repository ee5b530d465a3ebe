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
        e.restartPolicy = restartPolicy.rawValue
        e.restarts = restarts
        e.manifestDigest = manifestDigest
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
            state: state, restartPolicy: RestartPolicy(wire: e.restartPolicy) ?? .no, restarts: e.restarts,
            createdUnixMs: e.createdUnixMs, changedUnixMs: e.changedUnixMs, lastError: e.lastError,
            manifestDigest: e.manifestDigest)
    }
}
