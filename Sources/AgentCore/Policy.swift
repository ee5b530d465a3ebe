import Accounts
import Foundation
import KenProto
import KenRPC
import TOML

/// A set of principals: users (names or numeric uids) and groups (names or numeric gids).
public struct Principals: Sendable, Equatable {
    public var users: [String]
    public var groups: [String]

    public init(users: [String] = [], groups: [String] = []) {
        self.users = users
        self.groups = groups
    }

    /// True if the peer is one of the users, or its primary (peer) gid or any group of its uid
    /// is one of the groups. Unknown names never match.
    public func contains(_ peer: PeerCredentials, groupsOf: (UInt32) -> Set<UInt32> = UserDatabase.groups(ofUID:)) -> Bool {
        for user in users {
            if let uid = UInt32(user) ?? UserDatabase.userID(named: user), uid == peer.uid { return true }
        }
        let wanted = Set(groups.compactMap { UInt32($0) ?? UserDatabase.groupID(named: $0) })
        guard !wanted.isEmpty else { return false }
        if wanted.contains(peer.gid) { return true }
        return !wanted.isDisjoint(with: groupsOf(peer.uid))
    }

    public var description: String {
        let parts = users.map { "user \($0)" } + groups.map { "group \($0)" }
        return parts.isEmpty ? "nobody" : parts.joined(separator: ", ")
    }
}

/// The agent's configuration (`/etc/ken/agent.toml`). Every field has a safe default, so a
/// missing file means: root and group `ken` may attach, root and `ken-admin` may detach anyone's
/// extensions, no unsafe builtins, extensions stay attached when the agent stops.
///
/// The file, with every key at its default:
/// ```toml
/// [attach]                 # may attach, list, inspect, and detach their own extensions
/// users = ["root"]         # names or numeric uids
/// groups = ["ken"]         # names or numeric gids (primary or supplementary)
///
/// [admin]                  # may also detach and read the logs of anyone's extensions
/// users = ["root"]
/// groups = ["ken-admin"]
///
/// [programs]
/// probe_kinds = []         # e.g. ["tracepoint", "kprobe", "BEGIN", "END"]; empty: every kind
///                          # that only observes (object types that act must be named)
/// allow = []               # capabilities beyond observing (see ProgramCapability), or true
/// unsafe_builtins = false  # the older name of allow
/// kfuncs = []              # kernel functions objects may call, or true for any
/// includes = false         # true: #include <header> from the system header directories
/// max_program_bytes = 1048576
///
/// [limits]
/// extensions_per_uid = 32
/// extensions_total = 256
/// max_restarts = 5         # per extension, for restart policies on-failure and always
/// log_max_bytes = 1048576  # per log file before rotation to .1
/// verify_concurrency = 4   # verify-only bpftrace children at once; more calls wait in a queue
/// verify_seconds = 30      # wall-clock cap of one verify-only child
/// child_memory_bytes = 2147483648  # address-space cap (RLIMIT_AS) of every child the agent runs
///
/// [kend]                   # the synthesis daemon, which may act on behalf of its callers
/// user = "ken"             # a name or numeric uid; "" : nobody may
///
/// [lifecycle]
/// restart_policy = "no"    # default for attaches that name none: "no", "on-failure", "always"
/// detach_on_stop = false   # true: detach every extension when the agent stops
/// ```
public struct AgentPolicy: Sendable, Equatable {
    public static let defaultPath = "/etc/ken/agent.toml"

    /// May attach, list, inspect and detach their own extensions.
    public var attach = Principals(users: ["root"], groups: ["ken"])
    /// May also detach and read logs of anyone's extensions.
    public var admin = Principals(users: ["root"], groups: ["ken-admin"])
    /// Probe providers allowed (`tracepoint`, `kprobe`, …, as in `ProbeKind` canonical names).
    /// Empty means every kind.
    public var allowedProbeKinds: [PolicyProbeKind] = []
    /// What programs may do beyond observing (`programs.allow`); empty: nothing.
    public var allowedCapabilities: Set<ProgramCapability> = []
    /// The older name of `allowedCapabilities`.
    public var allowedUnsafeBuiltins: Set<ProgramCapability> {
        get { allowedCapabilities }
        set { allowedCapabilities = newValue }
    }
    /// Kernel functions (kfuncs) objects may call, by name (`programs.kfuncs`).
    public var allowedKfuncs: Set<String> = []
    /// `programs.kfuncs = true`: any kfunc, including calls by BTF id.
    public var allowsAnyKfunc = false
    /// `#include <header>` from the system header directories (`programs.includes`).
    public var allowsIncludes = false
    /// Verify-only bpftrace children running at once; further calls queue.
    public var verifyConcurrency = 4
    /// Wall-clock cap of one verify-only child, in seconds.
    public var verifySeconds = 30
    /// RLIMIT_AS of every child the agent runs. bpftrace 0.17 with its LLVM maps about 225 MB for
    /// a small script and 405 MB for 360 probes with stacks (measured); 2 GiB leaves margin and
    /// stops a runaway (e.g. clang reading an endless file) long before the machine suffers.
    public var childMemoryBytes = 2 << 30
    public var maxExtensionsPerUID = 32
    public var maxExtensionsTotal = 256
    /// Largest script or object accepted, in bytes.
    public var maxProgramBytes = 1 << 20
    public var defaultRestartPolicy = RestartPolicy.no
    /// Detach every extension when the agent stops (default: keep them running).
    public var detachOnStop = false
    /// Restarts allowed per extension before it is left failed.
    public var maxRestarts = 5
    /// Bytes kept per extension log file before it is rotated (one older generation is kept).
    public var logMaxBytes = 1 << 20
    /// The user kend runs as: the only peer whose calls may name an end user to act for
    /// (`on_behalf_of`). Empty: nobody.
    public var kendUser = "ken"

    /// True when `uid` is the configured kend user.
    public func isKendUser(_ uid: UInt32) -> Bool {
        guard !kendUser.isEmpty, let kend = UInt32(kendUser) ?? UserDatabase.userID(named: kendUser) else { return false }
        return kend == uid
    }

    public init() {}

    /// Parses the configuration text. Unknown keys are errors (a typo must not silently weaken
    /// nothing or strengthen nothing).
    public static func parse(_ text: String) throws(PolicyError) -> AgentPolicy {
        let document: [String: TOMLValue]
        do { document = try TOMLParser.parse(text) } catch { throw .syntax(error) }
        do { return try decode(TOMLTable(document)) } catch { throw .invalid(error.message) }
    }

    static let sections = "attach, admin, programs, limits, kend, lifecycle"

    /// The policy from the parsed file, through the shared strict reader (`TOMLTable`).
    private static func decode(_ document: TOMLTable) throws(TOMLDecodingError) -> AgentPolicy {
        var policy = AgentPolicy()
        for table in try document.tables(expected: sections) {
            switch table.name {
            case "attach": policy.attach = try principals(table)
            case "admin": policy.admin = try principals(table)
            case "programs":
                try table.only(["probe_kinds", "allow", "unsafe_builtins", "kfuncs", "includes", "max_program_bytes"])
                if let kinds = try table.strings("probe_kinds") { policy.allowedProbeKinds = kinds.map(PolicyProbeKind.init(name:)) }
                for key in ["allow", "unsafe_builtins"] { policy.allowedCapabilities.formUnion(try capabilities(table, key)) }
                if case let .boolean(all) = table.values["kfuncs"] {
                    policy.allowsAnyKfunc = all
                } else if let kfuncs = try table.strings("kfuncs") {
                    policy.allowedKfuncs = Set(kfuncs)
                }
                if let includes = try table.bool("includes") { policy.allowsIncludes = includes }
                if let bytes = try positive(table, "max_program_bytes") { policy.maxProgramBytes = bytes }
            case "limits":
                try table.only(["extensions_per_uid", "extensions_total", "max_restarts", "log_max_bytes",
                                "verify_concurrency", "verify_seconds", "child_memory_bytes"])
                if let n = try positive(table, "extensions_per_uid") { policy.maxExtensionsPerUID = n }
                if let n = try positive(table, "extensions_total") { policy.maxExtensionsTotal = n }
                if let n = try positive(table, "max_restarts", allowZero: true) { policy.maxRestarts = n }
                if let n = try positive(table, "log_max_bytes") { policy.logMaxBytes = n }
                if let n = try positive(table, "verify_concurrency") { policy.verifyConcurrency = n }
                if let n = try positive(table, "verify_seconds") { policy.verifySeconds = n }
                if table.values["child_memory_bytes"] != nil {
                    guard let bytes = try? table.integer("child_memory_bytes", in: (256 << 20)...Int64.max) else {
                        throw TOMLDecodingError("limits.child_memory_bytes must be at least 268435456 (bpftrace needs about 225 MB to start)")
                    }
                    policy.childMemoryBytes = bytes
                }
            case "kend":
                try table.only(["user"])
                switch table.values["user"] {
                case nil: break
                case let .string(name): policy.kendUser = name
                case let .integer(uid) where uid >= 0: policy.kendUser = String(uid)
                default: throw TOMLDecodingError("kend.user must be a user name or uid")
                }
            case "lifecycle":
                try table.only(["restart_policy", "detach_on_stop"])
                if let restart: RestartPolicy = try table.choice("restart_policy") { policy.defaultRestartPolicy = restart }
                if let detach = try table.bool("detach_on_stop") { policy.detachOnStop = detach }
            default: throw TOMLDecodingError("unknown section [\(table.name)] (known: \(sections))")
            }
        }
        return policy
    }

    /// Loads the file at `path`; a missing file gives the defaults, an unreadable or invalid one
    /// is an error (the agent refuses to start rather than run with a policy it did not read).
    public static func load(path: String) throws(PolicyError) -> AgentPolicy {
        guard FileManager.default.fileExists(atPath: path) else { return AgentPolicy() }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        do { return try parse(text) } catch { throw error.in(path: path) }
    }

    /// `true` (every capability), `false` (none) or a list of capability names.
    private static func capabilities(_ table: TOMLTable, _ key: String) throws(TOMLDecodingError) -> Set<ProgramCapability> {
        if case let .boolean(all) = table.values[key] { return all ? Set(ProgramCapability.allCases) : [] }
        return Set(try (table.strings(key) ?? []).map { (name) throws(TOMLDecodingError) -> ProgramCapability in
            guard let capability = ProgramCapability(rawValue: name) else {
                throw TOMLDecodingError("\(table.path(key)): unknown capability \(name) (known: \(ProgramCapability.knownList))")
            }
            return capability
        })
    }

    private static func principals(_ table: TOMLTable) throws(TOMLDecodingError) -> Principals {
        try table.only(["users", "groups"])
        return Principals(users: try table.strings("users", allowIDs: true) ?? [],
                          groups: try table.strings("groups", allowIDs: true) ?? [])
    }

    private static func positive(_ table: TOMLTable, _ key: String, allowZero: Bool = false) throws(TOMLDecodingError) -> Int? {
        guard table.values[key] != nil else { return nil }
        guard let value = try? table.integer(key, in: (allowZero ? 0 : 1)...Int64(Int32.max)) else {
            throw TOMLDecodingError("\(table.path(key)) must be a \(allowZero ? "non-negative" : "positive") integer")
        }
        return value
    }
}

/// Why the policy file could not be used.
public enum PolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    case syntax(TOMLError)
    case invalid(String)
    case unreadable(path: String, reason: String)
    case inFile(path: String, message: String)

    func `in`(path: String) -> PolicyError {
        switch self {
        case .unreadable, .inFile: return self
        default: return .inFile(path: path, message: description)
        }
    }

    public var description: String {
        switch self {
        case let .syntax(e): return "syntax error at \(e)"
        case let .invalid(m): return m
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .inFile(path, message): return "\(path): \(message)"
        }
    }
}
