import Digest
import Foundation

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

/// What the agent does when an extension's bpftrace child dies or cannot be restored.
public enum RestartPolicy: String, Sendable, Equatable, CaseIterable {
    case no
    case onFailure = "on-failure"
    case always

    /// Parses the wire spelling; empty means the default ("no").
    public init?(wire: String) {
        if wire.isEmpty { self = .no; return }
        self.init(rawValue: wire)
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

    public init(
        id: String, name: String, ownerUID: UInt32, kind: ExtensionKind,
        programText: String = "", object: [UInt8] = [], objectSHA256: String? = nil,
        prompt: String = "", annotatedProgram: String = "",
        progIDs: [UInt32] = [], linkIDs: [UInt32] = [], pid: Int32 = 0, probes: [String] = [],
        pinDir: String = "", state: ExtensionState = .attaching, restartPolicy: RestartPolicy = .no,
        restarts: UInt32 = 0, createdUnixMs: Int64 = Registry.nowUnixMs(), changedUnixMs: Int64? = nil,
        lastError: String = "", manifestDigest: String = ""
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
    }

    /// True while the extension should be in the kernel (reconciliation restores these).
    public var shouldBeAttached: Bool { state == .attached || state == .attaching }
}
