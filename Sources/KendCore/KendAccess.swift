import Accounts
import KenRPC
#if canImport(Glibc)
import Glibc
#endif

/// Who may do what on kend's socket (`[access]` in kend.toml).
///
/// - users: may synthesize, verify, and list or search examples. Default: root, kend's own user,
///   and members of kend's own group (the group that owns its socket).
/// - admins: may also apply fleet manifests (and prune), and add or remove learned examples —
///   these change what runs for everyone or what every later prompt is shown. Default: root and
///   group `ken-admin`.
///
/// ```toml
/// [access]
/// users = ["alice"]            # names or uids; when users or groups is set, only those
/// groups = ["ken"]
/// admin_users = ["root"]
/// admin_groups = ["ken-admin"]
/// ```
public struct KendAccess: Sendable, Equatable {
    /// One role's members. nil lists mean "the default for this role".
    public struct Members: Sendable, Equatable {
        public var users: [String]
        public var groups: [String]

        public init(users: [String] = [], groups: [String] = []) {
            self.users = users
            self.groups = groups
        }

        func contains(_ peer: PeerCredentials) -> Bool {
            if users.contains(where: { (UInt32($0) ?? UserDatabase.userID(named: $0)) == peer.uid }) { return true }
            let wanted = Set(groups.compactMap { UInt32($0) ?? UserDatabase.groupID(named: $0) })
            guard !wanted.isEmpty else { return false }
            return wanted.contains(peer.gid) || !wanted.isDisjoint(with: UserDatabase.groups(ofUID: peer.uid))
        }

        var description: String {
            let parts = users.map { "user \($0)" } + groups.map { "group \($0)" }
            return parts.isEmpty ? "nobody" : parts.joined(separator: ", ")
        }
    }

    /// nil: root, kend's own user and kend's own group.
    public var users: Members?
    public var admins = Members(users: ["root"], groups: ["ken-admin"])

    public init(users: Members? = nil, admins: Members = Members(users: ["root"], groups: ["ken-admin"])) {
        self.users = users
        self.admins = admins
    }

    public func isAdmin(_ peer: PeerCredentials) -> Bool { admins.contains(peer) }

    public func isUser(_ peer: PeerCredentials) -> Bool {
        if isAdmin(peer) { return true }
        if let users { return users.contains(peer) }
        return PeerPolicy.sameUserOrGroup(peer)
    }

    var adminDescription: String { admins.description }
}
