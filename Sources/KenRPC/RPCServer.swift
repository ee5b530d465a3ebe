import KenProto
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A server for one protocol (ken-agent's or kend's), on a socket path or an activated fd.
///
/// ```swift
/// let server = try await RPCServer.start(endpoint: .path("/run/ken/agent.sock"), handler: AgentHandler())
/// ...
/// await server.shutdown(gracePeriod: .seconds(5))
/// ```
/// Many clients are served at once; every call runs in its own task; a misbehaving client is
/// answered and disconnected without disturbing the others.
public final class RPCServer<Handler: RPCHandler>: Sendable {
    /// The socket path served (for activated sockets: the path the fd is bound to, if any).
    public let path: String
    private let serverChannel: any Channel
    private let connections: ConnectionRegistry
    private let removeSocketFileOnShutdown: Bool
    private let logger: Logger

    private init(path: String, serverChannel: any Channel, connections: ConnectionRegistry,
                 removeSocketFileOnShutdown: Bool, logger: Logger) {
        self.path = path
        self.serverChannel = serverChannel
        self.connections = connections
        self.removeSocketFileOnShutdown = removeSocketFileOnShutdown
        self.logger = logger
    }

    /// Starts serving `endpoint` and returns once the socket accepts connections.
    public static func start(
        endpoint: RPCEndpoint,
        handler: Handler,
        configuration: RPCServerConfiguration = RPCServerConfiguration(),
        logger: Logger = Logger(label: "ken.rpc.server"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(RPCError) -> RPCServer {
        let connections = ConnectionRegistry()
        let label: String
        switch endpoint {
        case .path(let path): label = path
        case .listeningSocket(let fd): label = "fd \(fd)"
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                Self.initialize(channel, handler: handler, configuration: configuration,
                                connections: connections, path: label, logger: logger)
            }
        switch endpoint {
        case .path(let path):
            try await removeStaleSocket(at: path, group: group)
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
            } catch {
                throw .bindFailed(path: path, reason: describe(error))
            }
            // bind(2) applies the umask; set the intended mode explicitly.
            guard chmod(path, mode_t(configuration.socketMode)) == 0 else {
                let reason = systemErrorText(errno)
                try? await channel.close()
                unlink(path)
                throw .bindFailed(path: path, reason: "chmod \(String(configuration.socketMode, radix: 8)): \(reason)")
            }
            logger.info("listening", metadata: ["socket": "\(path)"])
            return RPCServer(path: path, serverChannel: channel, connections: connections,
                             removeSocketFileOnShutdown: true, logger: logger)
        case .listeningSocket(let fd):
            let channel: any Channel
            do {
                channel = try await bootstrap.withBoundSocket(fd).get()
            } catch {
                throw .bindFailed(path: label, reason: "cannot serve the passed socket: \(describe(error))")
            }
            let path = channel.localAddress?.pathname ?? label
            logger.info("listening on activated socket", metadata: ["socket": "\(path)", "fd": "\(fd)"])
            // The socket file belongs to the service manager: leave it in place.
            return RPCServer(path: path, serverChannel: channel, connections: connections,
                             removeSocketFileOnShutdown: false, logger: logger)
        }
    }

    /// Connections currently open (for status replies and tests).
    public var connectionCount: Int { connections.count }

    /// Stops accepting, lets calls in flight finish for up to `gracePeriod`, cancels the rest,
    /// closes every connection and (for a path endpoint) removes the socket file.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let open = connections.beginShutdown()
        try? await serverChannel.close()
        if removeSocketFileOnShutdown { unlink(path) }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(DrainConnectionEvent())
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for channel in open { try? await channel.closeFuture.get() }
            }
            group.addTask {
                try? await Task.sleep(for: gracePeriod)
                for channel in open { try? await channel.close() }
            }
            await group.next()
            group.cancelAll()
        }
        // Anything that slipped in between the snapshot and the close.
        for channel in connections.all() { try? await channel.close() }
        logger.info("stopped", metadata: ["socket": "\(path)"])
    }

    /// Returns when the listening socket is closed (by `shutdown`).
    public func waitUntilClosed() async {
        try? await serverChannel.closeFuture.get()
    }

    // MARK: Connection set-up

    private static func initialize(
        _ channel: any Channel, handler: Handler, configuration: RPCServerConfiguration,
        connections: ConnectionRegistry, path: String, logger: Logger
    ) -> EventLoopFuture<Void> {
        // Who connected decides which limits apply, so the credentials come first.
        peerCredentials(of: channel).flatMapThrowing { peer in
            let privilege = PeerPrivilege(peer: peer, isPrivileged: configuration.isPrivileged)
            if let refusal = connections.admit(channel, peer: peer, privilege: privilege, configuration: configuration) {
                logger.notice("connection refused: \(refusal)", metadata: ["peer": "\(peer)"])
                try channel.pipeline.syncOperations.addHandler(
                    RejectConnectionHandler<Handler.Response>(code: .resourceExhausted, message: refusal))
                return
            }
            channel.closeFuture.whenComplete { _ in connections.remove(channel) }
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(handler: handler, peer: peer, privilege: privilege, connections: connections,
                                        configuration: configuration, path: path, logger: logger))
        }
    }

    /// SO_PEERCRED of an accepted socket: who connected, as the kernel saw it at connect(2).
    private static func peerCredentials(of channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(RPCError.bindFailed(path: "", reason: "channel has no socket options"))
        }
        let future: EventLoopFuture<KernelUcred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { PeerCredentials(uid: $0.uid, gid: $0.gid, pid: $0.pid) }
    }

    /// Removes a socket file nobody accepts on; refuses to touch a live socket or a non-socket.
    private static func removeStaleSocket(at path: String, group: any EventLoopGroup) async throws(RPCError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw .bindFailed(path: path, reason: "the path exists and is not a socket; refusing to replace it")
        }
        do {
            let probe = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(1))
                .connect(unixDomainSocketPath: path).get()
            try? await probe.close()
            throw RPCError.addressInUse(path: path)
        } catch let error as RPCError {
            throw error
        } catch {
            // Nothing accepted the probe: the file is left over from a previous run.
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .bindFailed(path: path, reason: "cannot remove stale socket: \(systemErrorText(errno))")
        }
    }
}

func describe(_ error: any Error) -> String {
    if let io = error as? IOError { return systemErrorText(io.errnoCode) }
    return "\(error)"
}

/// Whether a peer is privileged, asked at most once per connection and only when a limit would
/// otherwise refuse it (the answer may need user database lookups).
final class PeerPrivilege: Sendable {
    private let peer: PeerCredentials
    private let isPrivileged: @Sendable (PeerCredentials) -> Bool
    private let answer = NIOLockedValueBox<Bool?>(nil)

    init(peer: PeerCredentials, isPrivileged: @escaping @Sendable (PeerCredentials) -> Bool) {
        self.peer = peer
        self.isPrivileged = isPrivileged
    }

    var value: Bool {
        if let known = answer.withLockedValue({ $0 }) { return known }
        let computed = isPrivileged(peer)
        answer.withLockedValue { $0 = computed }
        return computed
    }
}

/// The open connections of one server, shared by its accept path and `shutdown`, with the
/// per-uid counts the limits are decided on.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: any Channel
        var uid: UInt32
    }
    private struct State {
        var channels: [ObjectIdentifier: Entry] = [:]
        var connectionsPerUID: [UInt32: Int] = [:]
        var callsPerUID: [UInt32: Int] = [:]
        var shuttingDown = false
    }
    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.channels.count } }

    /// Registers `channel`, or returns why it is refused. Ordinary peers share `maxConnections`
    /// and each uid gets at most `maxConnectionsPerUID`; privileged peers skip the per-uid limit
    /// and may use `privilegedReserve` connections beyond the shared limit.
    func admit(_ channel: any Channel, peer: PeerCredentials, privilege: PeerPrivilege,
               configuration: RPCServerConfiguration) -> String? {
        enum Verdict { case admitted, refused(String), askPrivilege }
        func decide(privileged: Bool?) -> Verdict {
            state.withLockedValue { state in
                if state.shuttingDown { return .refused("server is shutting down") }
                let mine = state.connectionsPerUID[peer.uid, default: 0]
                let total = state.channels.count
                let overUID = mine >= configuration.maxConnectionsPerUID
                let overShared = total >= configuration.maxConnections
                if overUID || overShared {
                    guard let privileged else { return .askPrivilege }
                    if !privileged {
                        return .refused(overUID
                            ? "too many connections from uid \(peer.uid) (limit \(configuration.maxConnectionsPerUID) per user); close some and try again"
                            : "too many connections (limit \(configuration.maxConnections)); try again later")
                    }
                    if total >= configuration.maxConnections + configuration.privilegedReserve {
                        return .refused("too many connections (limit \(configuration.maxConnections), and all \(configuration.privilegedReserve) kept for root and administrators are in use); try again later")
                    }
                }
                state.channels[ObjectIdentifier(channel)] = Entry(channel: channel, uid: peer.uid)
                state.connectionsPerUID[peer.uid, default: 0] += 1
                return .admitted
            }
        }
        // The privilege lookup runs outside the lock, and only when a limit is reached.
        var verdict = decide(privileged: nil)
        if case .askPrivilege = verdict { verdict = decide(privileged: privilege.value) }
        switch verdict {
        case .admitted: return nil
        case .refused(let reason): return reason
        case .askPrivilege: return "internal: admission undecided"
        }
    }

    func remove(_ channel: any Channel) {
        state.withLockedValue { state in
            guard let entry = state.channels.removeValue(forKey: ObjectIdentifier(channel)) else { return }
            let left = state.connectionsPerUID[entry.uid, default: 1] - 1
            state.connectionsPerUID[entry.uid] = left > 0 ? left : nil
        }
    }

    /// Counts a call of `peer` as in flight, or returns why it is refused (too many calls in
    /// flight for this uid over all its connections; privileged peers are not limited).
    func beginCall(peer: PeerCredentials, privilege: PeerPrivilege, limit: Int) -> String? {
        func tryBegin(force: Bool) -> Bool {
            state.withLockedValue { state in
                let mine = state.callsPerUID[peer.uid, default: 0]
                guard force || mine < limit else { return false }
                state.callsPerUID[peer.uid] = mine + 1
                return true
            }
        }
        if tryBegin(force: false) { return nil }
        if privilege.value, tryBegin(force: true) { return nil }
        return "too many calls in flight for uid \(peer.uid) (limit \(limit) over all its connections)"
    }

    func endCall(peer: PeerCredentials) {
        state.withLockedValue { state in
            let left = state.callsPerUID[peer.uid, default: 1] - 1
            state.callsPerUID[peer.uid] = left > 0 ? left : nil
        }
    }

    func beginShutdown() -> [any Channel] {
        state.withLockedValue { state in
            state.shuttingDown = true
            return state.channels.values.map(\.channel)
        }
    }

    func all() -> [any Channel] { state.withLockedValue { $0.channels.values.map(\.channel) } }
}

/// `struct ucred` from <sys/socket.h> (pid_t, uid_t, gid_t: three 32-bit fields in this order).
/// Glibc hides it behind _GNU_SOURCE, which Swift's Glibc module does not define, so it is
/// mirrored here; NIO reads exactly `MemoryLayout<KernelUcred>.size` (12) bytes into it.
struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
