import Foundation

/// One prompt → program pair: what a person asked for and a bpftrace program that does it.
public struct Example: Sendable, Codable, Hashable, Identifiable {
    /// Where an example came from; only learned examples can be removed.
    public enum Origin: String, Sendable, Codable, Hashable {
        /// Shipped with Ken in `corpus/examples/`.
        case corpus
        /// A bpftrace tool installed on this machine (`/usr/sbin/*.bt`); its header comment is
        /// the prompt.
        case installedTool = "installed-tool"
        /// A synthesis that passed every check and was added back (the paper's learning loop).
        case learned
    }

    public var id: String
    /// One or more phrasings of the request; the first is the main one.
    public var prompts: [String]
    public var program: String
    public var tags: [String]
    /// Probe specifications as written in the program (`tracepoint:syscalls:sys_enter_openat`).
    public var probes: [String]
    /// True when the program needs `bpftrace --unsafe` (signal, system, ...).
    public var needsUnsafe: Bool
    public var origin: Origin
    /// When a learned example was added; nil for the others.
    public var addedAt: Date?
    /// The corpus file's `// task:` line: task-model facts the program alone does not state
    /// (see `TaskMetadata`); nil when the program says it all.
    public var task: String?

    public init(id: String, prompts: [String], program: String, tags: [String] = [], probes: [String] = [],
                needsUnsafe: Bool = false, origin: Origin, addedAt: Date? = nil, task: String? = nil) {
        self.id = id
        self.prompts = prompts
        self.program = program
        self.tags = tags
        self.probes = probes
        self.needsUnsafe = needsUnsafe
        self.origin = origin
        self.addedAt = addedAt
        self.task = task
    }

    /// The main phrasing.
    public var prompt: String { prompts.first ?? "" }

    enum CodingKeys: String, CodingKey {
        case id, prompts, program, tags, probes, origin, task
        case needsUnsafe = "needs_unsafe"
        case addedAt = "added_at"
    }
}

/// What can go wrong reading or changing the store.
public enum ExampleStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformedExample(path: String, reason: String)
    case duplicateID(String)
    case notFound(id: String)
    case notRemovable(id: String, origin: Example.Origin)
    case invalidExample(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformedExample(let path, let reason): return "malformed example \(path): \(reason)"
        case .duplicateID(let id): return "two examples share the id '\(id)'"
        case .notFound(let id): return "no example with id '\(id)'"
        case .notRemovable(let id, let origin):
            return "example '\(id)' is \(origin.rawValue), not learned; only learned examples can be removed"
        case .invalidExample(let why): return "invalid example: \(why)"
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}
