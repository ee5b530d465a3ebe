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
        var policy = AgentPolicy()
        for (section, value) in document {
            guard case let .table(table) = value else { throw .invalid("top-level key \(section) must be a [table]") }
            switch section {
            case "attach": policy.attach = try principals(table, section: section)
            case "admin": policy.admin = try principals(table, section: section)
            case "programs":
                for (key, v) in table {
                    switch key {
                    case "probe_kinds": policy.allowedProbeKinds = try strings(v, "programs.probe_kinds").map(PolicyProbeKind.init(name:))
                    case "allow", "unsafe_builtins":
                        policy.allowedCapabilities.formUnion(try capabilities(v, "programs.\(key)"))
                    case "kfuncs":
                        if case let .boolean(all) = v {
                            policy.allowsAnyKfunc = all
                        } else {
                            policy.allowedKfuncs = Set(try strings(v, "programs.kfuncs"))
                        }
                    case "includes":
                        guard case let .boolean(b) = v else { throw .invalid("programs.includes must be true or false") }
                        policy.allowsIncludes = b
                    case "max_program_bytes": policy.maxProgramBytes = try positive(v, "programs.max_program_bytes")
                    default: throw .invalid("unknown key programs.\(key)")
                    }
                }
            case "limits":
                for (key, v) in table {
                    switch key {
                    case "extensions_per_uid": policy.maxExtensionsPerUID = try positive(v, "limits.extensions_per_uid")
                    case "extensions_total": policy.maxExtensionsTotal = try positive(v, "limits.extensions_total")
                    case "max_restarts": policy.maxRestarts = try positive(v, "limits.max_restarts", allowZero: true)
                    case "log_max_bytes": policy.logMaxBytes = try positive(v, "limits.log_max_bytes")
                    case "verify_concurrency": policy.verifyConcurrency = try positive(v, "limits.verify_concurrency")
                    case "verify_seconds": policy.verifySeconds = try positive(v, "limits.verify_seconds")
                    case "child_memory_bytes":
                        guard case let .integer(i) = v, i >= 256 << 20 else {
                            throw .invalid("limits.child_memory_bytes must be at least 268435456 (bpftrace needs about 225 MB to start)")
                        }
                        policy.childMemoryBytes = Int(i)
                    default: throw .invalid("unknown key limits.\(key)")
                    }
                }
            case "kend":
                for (key, v) in table {
                    switch key {
                    case "user":
                        switch v {
                        case let .string(name): policy.kendUser = name
                        case let .integer(uid) where uid >= 0: policy.kendUser = String(uid)
                        default: throw .invalid("kend.user must be a user name or uid")
                        }
                    default: throw .invalid("unknown key kend.\(key) (known: user)")
                    }
                }
            case "lifecycle":
                for (key, v) in table {
                    switch key {
                    case "restart_policy":
                        guard case let .string(s) = v, let restart = RestartPolicy(rawValue: s) else {
                            throw .invalid("lifecycle.restart_policy must be \"no\", \"on-failure\" or \"always\"")
                        }
                        policy.defaultRestartPolicy = restart
                    case "detach_on_stop":
                        guard case let .boolean(b) = v else { throw .invalid("lifecycle.detach_on_stop must be true or false") }
                        policy.detachOnStop = b
                    default: throw .invalid("unknown key lifecycle.\(key)")
                    }
                }
            default: throw .invalid("unknown section [\(section)] (known: attach, admin, programs, limits, kend, lifecycle)")
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

    private static func capabilities(_ v: TOMLValue, _ key: String) throws(PolicyError) -> Set<ProgramCapability> {
        if case let .boolean(all) = v { return all ? Set(ProgramCapability.allCases) : [] }
        return Set(try strings(v, key).map { (name) throws(PolicyError) -> ProgramCapability in
            guard let capability = ProgramCapability(rawValue: name) else {
                throw .invalid("\(key): unknown capability \(name) (known: \(ProgramCapability.knownList))")
            }
            return capability
        })
    }

    private static func principals(_ table: [String: TOMLValue], section: String) throws(PolicyError) -> Principals {
        var p = Principals()
        for (key, v) in table {
            switch key {
            case "users": p.users = try strings(v, "\(section).users", allowIntegers: true)
            case "groups": p.groups = try strings(v, "\(section).groups", allowIntegers: true)
            default: throw .invalid("unknown key \(section).\(key) (known: users, groups)")
            }
        }
        return p
    }

    private static func strings(_ v: TOMLValue, _ key: String, allowIntegers: Bool = false) throws(PolicyError) -> [String] {
        guard case let .array(items) = v else { throw .invalid("\(key) must be an array") }
        return try items.map { (item) throws(PolicyError) -> String in
            switch item {
            case let .string(s): return s
            case let .integer(i) where allowIntegers && i >= 0: return String(i)
            default: throw .invalid("\(key) must hold only strings\(allowIntegers ? " or ids" : "")")
            }
        }
    }

    private static func positive(_ v: TOMLValue, _ key: String, allowZero: Bool = false) throws(PolicyError) -> Int {
        guard case let .integer(i) = v, i > 0 || (allowZero && i == 0), i <= Int64(Int32.max) else {
            throw .invalid("\(key) must be a positive integer")
        }
        return Int(i)
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
