import Accounts
import KenRPC

/// What a peer asks to do, for the authorization decision.
public enum AgentOperation: Sendable, Equatable {
    case status
    case attach
    case verifyOnly
    case list
    case get
    /// Acting on an existing extension owned by `owner` (detach, logs).
    case detach(owner: UInt32)
    case logs(owner: UInt32)
}

/// The outcome of an authorization check: allowed, or denied with a sentence saying why and what
/// to do about it.
public enum AuthorizationDecision: Sendable, Equatable {
    case allow
    case deny(message: String, hint: String)
}

/// Decides from the peer's kernel-reported credentials and the policy. Root is not special-cased
/// here: it is allowed because the default policy names it, so an operator can see every rule in
/// one file.
public struct Authorizer: Sendable {
    public var policy: AgentPolicy
    /// Group lookup, replaceable in tests that use synthetic peers.
    public var groupsOf: @Sendable (UInt32) -> Set<UInt32>

    public init(policy: AgentPolicy, groupsOf: @escaping @Sendable (UInt32) -> Set<UInt32> = UserDatabase.groups(ofUID:)) {
        self.policy = policy
        self.groupsOf = groupsOf
    }

    public func isAdmin(_ peer: PeerCredentials) -> Bool { policy.admin.contains(peer, groupsOf: groupsOf) }

    /// May use the agent at all (attach, list, inspect, manage their own extensions).
    public func isUser(_ peer: PeerCredentials) -> Bool { isAdmin(peer) || policy.attach.contains(peer, groupsOf: groupsOf) }

    public func authorize(_ operation: AgentOperation, peer: PeerCredentials) -> AuthorizationDecision {
        guard isUser(peer) else {
            let who = UserDatabase.userName(uid: peer.uid).map { "\($0) (uid \(peer.uid))" } ?? "uid \(peer.uid)"
            return .deny(
                message: "\(who) may not use ken-agent",
                hint: "the policy allows \(policy.attach.description) and \(policy.admin.description); ask an administrator to add you (e.g. `usermod -aG ken \(UserDatabase.userName(uid: peer.uid) ?? "USER")`, then log in again)")
        }
        switch operation {
        case .status, .attach, .verifyOnly, .list, .get:
            return .allow
        case let .detach(owner), let .logs(owner):
            if owner == peer.uid || isAdmin(peer) { return .allow }
            let verb = operation == .detach(owner: owner) ? "detach" : "read the logs of"
            return .deny(
                message: "uid \(peer.uid) may not \(verb) an extension owned by uid \(owner)",
                hint: "only the owner or \(policy.admin.description) may; ask its owner or an administrator")
        }
    }
}
