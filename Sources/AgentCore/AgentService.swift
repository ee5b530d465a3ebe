import Foundation
import KenProto
import KenRPC
import KernelInfo
import Logging
import Registry
import Synchronization

/// ken-agent's calls: authorization, validation, the registry, and the kernel through the
/// supervisor. Transport-free (the RPC handler adapts it), so every path is reachable in tests.
///
/// Ordering rule: every change of an extension's state is committed to the registry before the
/// kernel is touched (`attaching`) and again before the client is answered (`attached`, `failed`,
/// `detached`). A crash at any point leaves a record reconciliation can resolve.
public final class AgentService: Sendable {
    public let configuration: AgentConfiguration
    public let registry: Registry
    public let authorizer: Authorizer
    let supervisor: ExtensionSupervisor
    let logger: Logger
    let startedAt = Date()
    /// Serialises attaches so the per-user and total limits cannot be overrun by racing calls.
    let attachGate = AsyncGate()
    /// Verify-only loads at once (limits.verify_concurrency); see `AgentService+Verify`.
    let verifyQueue: VerifyQueue
    /// Verify-only calls in flight per uid; they count against limits.extensions_per_uid.
    let verifying = Mutex<[UInt32: Int]>([:])

    public init(configuration: AgentConfiguration, registry: Registry, logger: Logger = Logger(label: "ken-agent")) {
        self.configuration = configuration
        self.registry = registry
        self.authorizer = Authorizer(policy: configuration.policy)
        self.verifyQueue = VerifyQueue(capacity: configuration.policy.verifyConcurrency)
        self.logger = logger
        self.supervisor = ExtensionSupervisor(configuration: configuration, registry: registry, logger: logger)
    }

    /// Answers one request. Streams (Logs with follow) call `send` for every line but the last.
    public func handle(
        _ request: Ken_V1_AgentRequest, peer connected: PeerCredentials,
        send: @escaping @Sendable (Ken_V1_AgentResponse) async throws -> Void
    ) async throws -> Ken_V1_AgentResponse {
        // kend may name the end user it acts for; anyone else who tries is refused outright.
        // Root may too (kend run by root, as in scripts/ken-demo): acting for a user only narrows
        // what root could do itself.
        var peer = connected
        var via: PeerCredentials?
        if request.hasOnBehalfOf {
            guard connected.uid == 0 || configuration.policy.isKendUser(connected.uid) else {
                logger.notice("refused on_behalf_of", metadata: ["peer": "\(connected)", "claimed_uid": "\(request.onBehalfOf.uid)"])
                throw RPCStatusError(.permissionDenied, "uid \(connected.uid) may not act on behalf of other users",
                                     hint: "only the kend user named in [kend] user of the agent's policy may")
            }
            peer = PeerCredentials(uid: request.onBehalfOf.uid, gid: request.onBehalfOf.gid, pid: request.onBehalfOf.pid)
            via = connected
        }
        var response = Ken_V1_AgentResponse()
        response.id = request.id
        switch request.call {
        case .status:
            try authorize(.status, peer)
            // The copy is for unprivileged readers (kend as ken); root reads tracefs itself and
            // is answered at once.
            if peer.uid != 0 { await configuration.kernelFactsPublished?() }
            response.statusReply = try status(peer: peer)
        case let .attach(attach):
            try authorize(.attach, peer)
            response.attach = try await self.attach(attach, peer: peer, via: via)
        case let .verifyOnly(verify):
            try authorize(.verifyOnly, peer)
            response.verifyOnly = try await self.verify(verify, peer: peer, send: send)
        case let .list(list):
            try authorize(.list, peer)
            response.list = try await self.list(all: list.all, for: peer)
        case let .get(get):
            try authorize(.get, peer)
            let record = try findVisible(id: get.id, name: get.name, to: peer)
            response.get = Ken_V1_GetReply.with { $0.extension = self.proto(record) }
        case let .detach(detach):
            try authorize(.list, peer)
            let record = try findVisible(id: detach.id, name: detach.name, to: peer)
            if detach.id.isEmpty, record.state == .detached {
                // By id, detaching twice is harmless; by name, the name no longer names anything live.
                throw RPCStatusError(.notFound, "no attached extension named \"\(detach.name.prefix(128))\"",
                                     hint: "kenc list shows the extensions")
            }
            try authorize(.detach(owner: record.ownerUID), peer)
            let detached = try await self.detach(record, by: peer)
            response.detach = Ken_V1_DetachReply.with { $0.extension = self.proto(detached) }
        case let .logs(logs):
            try authorize(.list, peer)
            let record = try findVisible(id: logs.id, name: logs.name, to: peer)
            try authorize(.logs(owner: record.ownerUID), peer)
            let lines = supervisor.logLines(id: record.id, tail: Int(logs.tail), notes: logs.notes)
            if !logs.follow {
                // One response per line would be chatty; without follow, every line but the last
                // is streamed and the last closes the call, like a follow that ends at once.
                for line in lines.dropLast() { try await send(Ken_V1_AgentResponse.with { $0.log = line }) }
                if let last = lines.last { response.log = last }
            } else {
                for line in lines { try await send(Ken_V1_AgentResponse.with { $0.log = line }) }
                response.log = try await supervisor.follow(id: record.id, notes: logs.notes) { line in
                    try await send(Ken_V1_AgentResponse.with { $0.log = line })
                }
            }
        case .cancel:
            // The RPC server answers cancels itself; reaching here means a transport without it.
            break
        case nil:
            throw RPCStatusError(.invalidArgument, "the request names no call", hint: "update kenc to the agent's version")
        }
        return response
    }

    // MARK: - Authorization and lookup

    func authorize(_ operation: AgentOperation, _ peer: PeerCredentials) throws(RPCStatusError) {
        if case let .deny(message, hint) = authorizer.authorize(operation, peer: peer) {
            logger.notice("denied", metadata: ["peer": "\(peer)", "operation": "\(operation)"])
            throw RPCStatusError(.permissionDenied, message, hint: hint)
        }
    }

    /// The extension named by id (preferred) or name. Only well-formed ids are looked up so a
    /// hostile string never reaches SQL or a path (SQL uses binds anyway; paths are built from ids).
    func find(id: String, name: String) throws(RPCStatusError) -> ExtensionRecord {
        do {
            if !id.isEmpty {
                guard AgentService.isValidID(id) else {
                    throw RPCStatusError(.invalidArgument, "\"\(id.prefix(64))\" is not an extension id (12 hex digits)",
                                         hint: "kenc list shows the ids")
                }
                if let record = try registry.get(id: id, withObject: false) { return record }
                throw RPCStatusError(.notFound, "no extension with id \(id)", hint: "kenc list shows the extensions")
            }
            guard !name.isEmpty else {
                throw RPCStatusError(.invalidArgument, "give an extension id or name")
            }
            if let record = try registry.get(name: name, withObject: false) { return record }
            throw RPCStatusError(.notFound, "no extension named \"\(name.prefix(128))\"", hint: "kenc list shows the extensions")
        } catch let error as RPCStatusError {
            throw error
        } catch {
            throw RPCStatusError(.internal, "registry: \(error)")
        }
    }

    /// The extension named by id or name, if `peer` may see it: its owner and administrators
    /// may. Anyone else gets exactly the answer a missing extension gets, so ids and names of
    /// other users' extensions cannot be probed (permission is decided before existence shows).
    func findVisible(id: String, name: String, to peer: PeerCredentials) throws(RPCStatusError) -> ExtensionRecord {
        if authorizer.isAdmin(peer) { return try find(id: id, name: name) }
        let record: ExtensionRecord?
        do {
            record = try find(id: id, name: name)
        } catch where error.code == .notFound {
            record = nil
        }
        if let record, record.ownerUID == peer.uid { return record }
        let key = id.isEmpty ? "named \"\(name.prefix(128))\"" : "with id \(id)"
        throw RPCStatusError(.notFound, "you have no extension \(key)",
                             hint: "kenc list shows your extensions; administrators see everyone's")
    }

    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 12 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Names are shown in tables and used as file-free labels: printable, no whitespace, bounded.
    static func validateName(_ name: String) throws(RPCStatusError) {
        guard name.utf8.count <= 64, !name.isEmpty,
              name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:@".unicodeScalars.contains($0) })
        else {
            throw RPCStatusError(.invalidArgument, "invalid extension name \"\(name.prefix(64))\"",
                                 hint: "use up to 64 letters, digits, '-', '_', '.', ':' or '@'")
        }
    }

    func proto(_ record: ExtensionRecord) -> Ken_V1_Extension {
        record.proto(memlockBytes: supervisor.nativeMemlock(id: record.id) ?? supervisor.memlock(progIDs: record.progIDs))
    }

    // MARK: - Status and List

    func status(peer: PeerCredentials) throws(RPCStatusError) -> Ken_V1_AgentStatusReply {
        let counts: [ExtensionState: Int]
        do { counts = try registry.counts() } catch { throw RPCStatusError(.internal, "registry: \(error)") }
        return Ken_V1_AgentStatusReply.with {
            $0.version = AgentConfiguration.version
            $0.kernelRelease = KernelInfo.runningRelease()
            $0.bpftraceVersion = supervisor.bpftraceVersion ?? ""
            $0.extensionsTotal = UInt32(counts.filter { $0.key != .detached }.values.reduce(0, +))
            $0.extensionsAttached = UInt32(counts[.attached] ?? 0)
            $0.extensionsFailed = UInt32(counts[.failed] ?? 0)
            $0.uptimeSeconds = Date().timeIntervalSince(startedAt)
            $0.pid = getpid()
            $0.peerUid = peer.uid
            $0.peerGid = peer.gid
            $0.peerPid = peer.pid
        }
    }

    /// Administrators see every extension; everyone else sees their own (and, with `all`, the
    /// kernel's programs, with only their own extensions named).
    func list(all: Bool, for peer: PeerCredentials) async throws(RPCStatusError) -> Ken_V1_ListReply {
        var records: [ExtensionRecord]
        do { records = try registry.list() } catch { throw RPCStatusError(.internal, "registry: \(error)") }
        if !authorizer.isAdmin(peer) { records = records.filter { $0.ownerUID == peer.uid } }
        let programs = supervisor.kernelPrograms()
        let memlockByProg = Dictionary(programs.map { ($0.id, $0.memlockBytes) }, uniquingKeysWith: { a, _ in a })
        var owner: [UInt32: String] = [:]
        for record in records { for prog in record.progIDs { owner[prog] = record.id } }
        return Ken_V1_ListReply.with { reply in
            reply.extensions = records.map { record in
                record.proto(memlockBytes: supervisor.nativeMemlock(id: record.id)
                             ?? record.progIDs.reduce(0) { $0 + (memlockByProg[$1] ?? 0) })
            }
            if all {
                reply.programs = programs.map { program in
                    var p = program
                    p.extensionID = owner[program.id] ?? ""
                    return p
                }
            }
        }
    }
}

/// A FIFO async mutex: one holder at a time, waiters resumed in order.
actor AsyncGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}
