import Digest
import Foundation
import KenProto

/// What kind of program an extension is.
public enum ExtensionKind: String, Sendable, Equatable, CaseIterable {
    case bpftrace
    case bpfObject = "bpf_object"
}

/// The life of an extension. `attaching` is written (and committed) before the kernel is touched,
/// and `detaching` before anything is stopped, so a crash half-way leaves a record that
/// reconciliation can resolve: it finishes or rolls back an attach, and always completes a detach.
public enum ExtensionState: String, Sendable, Equatable, CaseIterable {
    case attaching, attached, failed, detaching, detached
}

/// What kend established about an extension's program before it was attached. Recorded as the
/// submitter claimed it (the agent links no prover); empty for a program attached by hand.
public enum ProofVerdict: String, Sendable, Equatable, CaseIterable {
    case none = ""
    /// A non-vacuous assert tied to the request was proven.
    case proven
    /// Every check passed but nothing was proven (`unprovenReason` says why).
    case checked
}

/// What runs a script extension. Empty for objects and for scripts recorded before backends
/// existed (those ran on bpftrace).
public enum ExtensionBackend: String, Sendable, Equatable, CaseIterable {
    case none = ""
    /// Ken's generated BPF object and the agent's output runtime: no bpftrace process.
    case native
    /// A supervised bpftrace child.
    case bpftrace
}

/// One assert the symbolic verifier proved, with who claimed it ("prompt", "llm", "program").
public struct ProvenClaim: Sendable, Equatable, Codable {
    public var text: String
    public var line: UInt32
    public var column: UInt32
    public var claimedBy: String
    public init(text: String, line: UInt32, column: UInt32, claimedBy: String) {
        self.text = text
        self.line = line
        self.column = column
        self.claimedBy = claimedBy
    }
}

/// Everything the registry keeps about one extension.
public struct ExtensionRecord: Sendable, Equatable {
    /// 12 lower-case hex digits, random, unique.
    public var id: String
    /// Unique among extensions that are not detached.
    public var name: String
    public var ownerUID: UInt32
    public var kind: ExtensionKind
    /// The bpftrace script as it runs (annotations stripped, lowered to the installed dialect).
    public var programText: String
    /// The ELF object for `bpfObject`. `Registry.list` leaves this empty to keep listings cheap;
    /// `Registry.get` fills it.
    public var object: [UInt8]
    /// Hex SHA-256 of `object` (empty for bpftrace).
    public var objectSHA256: String
    public var prompt: String
    public var annotatedProgram: String
    public var progIDs: [UInt32]
    public var linkIDs: [UInt32]
    /// The bpftrace child's pid while one runs; 0 otherwise.
    public var pid: Int32
    public var probes: [String]
    /// /sys/fs/bpf/ken/<id> for objects.
    public var pinDir: String
    public var state: ExtensionState
    public var restartPolicy: RestartPolicy
    public var restarts: UInt32
    public var createdUnixMs: Int64
    public var changedUnixMs: Int64
    public var lastError: String
    /// The digest of the fleet manifest that declared this extension; empty when attached by hand.
    public var manifestDigest: String
    public var verdict: ProofVerdict
    /// For `proven`: the asserts proven, with who claimed them.
    public var provenAsserts: [ProvenClaim]
    /// For `checked`: why nothing was proven.
    public var unprovenReason: String
    /// For scripts: native or bpftrace; for bpftrace, why not native (`backendReason`).
    public var backend: ExtensionBackend
    public var backendReason: String

    /// Whether a bpftrace child runs it (a script not run natively).
    public var runsOnBpftrace: Bool { kind == .bpftrace && backend != .native }

    public init(
        id: String, name: String, ownerUID: UInt32, kind: ExtensionKind,
        programText: String = "", object: [UInt8] = [], objectSHA256: String? = nil,
        prompt: String = "", annotatedProgram: String = "",
        progIDs: [UInt32] = [], linkIDs: [UInt32] = [], pid: Int32 = 0, probes: [String] = [],
        pinDir: String = "", state: ExtensionState = .attaching, restartPolicy: RestartPolicy = .no,
        restarts: UInt32 = 0, createdUnixMs: Int64 = Registry.nowUnixMs(), changedUnixMs: Int64? = nil,
        lastError: String = "", manifestDigest: String = "",
        verdict: ProofVerdict = .none, provenAsserts: [ProvenClaim] = [], unprovenReason: String = "",
        backend: ExtensionBackend = .none, backendReason: String = ""
    ) {
        self.id = id
        self.name = name
        self.ownerUID = ownerUID
        self.kind = kind
        self.programText = programText
        self.object = object
        self.objectSHA256 = objectSHA256 ?? (object.isEmpty ? "" : SHA256.hex(object))
        self.prompt = prompt
        self.annotatedProgram = annotatedProgram
        self.progIDs = progIDs
        self.linkIDs = linkIDs
        self.pid = pid
        self.probes = probes
        self.pinDir = pinDir
        self.state = state
        self.restartPolicy = restartPolicy
        self.restarts = restarts
        self.createdUnixMs = createdUnixMs
        self.changedUnixMs = changedUnixMs ?? createdUnixMs
        self.lastError = lastError
        self.manifestDigest = manifestDigest
        self.verdict = verdict
        self.provenAsserts = provenAsserts
        self.unprovenReason = unprovenReason
        self.backend = backend
        self.backendReason = backendReason
    }

    /// True while the extension should be in the kernel (reconciliation restores these).
    public var shouldBeAttached: Bool { state == .attached || state == .attaching }
}
