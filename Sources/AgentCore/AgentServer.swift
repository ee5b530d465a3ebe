import Foundation
import KenProto
import KenRPC
import Logging
import Registry

/// A running ken-agent: the registry opened, extensions reconciled, the socket served.
/// `ken-agent` and the tests both start the agent through this type.
public final class AgentServer: Sendable {
    public let service: AgentService
    public let outcomes: [ReconcileOutcome]
    let server: RPCServer<AgentRPCHandler>

    private init(service: AgentService, outcomes: [ReconcileOutcome], server: RPCServer<AgentRPCHandler>) {
        self.service = service
        self.outcomes = outcomes
        self.server = server
    }

    /// Opens the registry in the configured state directory, reconciles, then serves `endpoint`.
    /// Reconciliation runs before the socket accepts calls, so no client sees a half-restored state.
    public static func start(
        configuration: AgentConfiguration, endpoint: RPCEndpoint,
        rpcConfiguration: RPCServerConfiguration = RPCServerConfiguration(),
        logger: Logger = Logger(label: "ken-agent")
    ) async throws -> AgentServer {
        let registry = try Registry(stateDirectory: configuration.stateDirectory)
        let service = AgentService(configuration: configuration, registry: registry, logger: logger)
        service.supervisor.removeStrayVerifiers()
        let outcomes = await service.supervisor.reconcile()
        service.supervisor.purgeDetached(retention: configuration.detachedRetentionSeconds)
        // Root and administrators always get a connection: the per-user limits and the shared
        // connection limit do not apply to them (up to the server's privileged reserve).
        var rpcConfiguration = rpcConfiguration
        let authorizer = service.authorizer
        rpcConfiguration.isPrivileged = { peer in
            peer.uid == 0 || authorizer.isAdmin(Peer(uid: peer.uid, gid: peer.gid, pid: peer.pid))
        }
        let server = try await RPCServer.start(endpoint: endpoint, handler: AgentRPCHandler(service: service),
                                               configuration: rpcConfiguration, logger: logger)
        return AgentServer(service: service, outcomes: outcomes, server: server)
    }

    public var socketPath: String { server.path }

    /// Connections open right now (for tests and status).
    public var connectionCount: Int { server.connectionCount }

    /// Stops serving. Extensions stay attached (and are adopted by the next agent) unless the
    /// policy says detach_on_stop.
    public func shutdown() async {
        await server.shutdown()
        await service.supervisor.shutdown(detachAll: service.configuration.policy.detachOnStop)
        service.registry.close()
    }

    public func waitUntilClosed() async { await server.waitUntilClosed() }
}

extension AgentServer {
    /// Detaches every extension the registry holds, without serving: bpftrace children (found by
    /// the pid the registry recorded) are stopped, pinned object links removed, and each record
    /// committed as detached with `reason`. `ken-agent --detach-all` runs this from the package's
    /// prerm on removal, after the agent service has stopped, so removing Ken leaves nothing
    /// running without an agent to supervise it. Returns the ids detached and the failures.
    public static func detachEverything(configuration: AgentConfiguration, reason: String,
                                        logger: Logger = Logger(label: "ken-agent")) async throws
        -> (detached: [String], failed: [(id: String, error: String)]) {
        let registry = try Registry(stateDirectory: configuration.stateDirectory)
        defer { registry.close() }
        let service = AgentService(configuration: configuration, registry: registry, logger: logger)
        var detached: [String] = []
        var failed: [(id: String, error: String)] = []
        for record in try registry.list() where record.state != .detached {
            do {
                // No agent serves now, so no attach is in flight: an `attaching` record is stale.
                if record.state == .attaching { _ = try registry.modify(id: record.id) { $0.state = .failed } }
                _ = try await service.supervisor.detach(id: record.id, reason: reason)
                detached.append(record.id)
            } catch {
                failed.append((record.id, "\(error)"))
            }
        }
        return (detached, failed)
    }
}
