import KenProto
import KenRPC

/// Adapts `AgentService` to the RPC server: the peer comes from SO_PEERCRED, streamed responses
/// go through the call context.
public struct AgentRPCHandler: RPCHandler {
    public typealias Request = Ken_V1_AgentRequest
    public typealias Response = Ken_V1_AgentResponse

    public let service: AgentService

    public init(service: AgentService) {
        self.service = service
    }

    public func handle(_ request: Ken_V1_AgentRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
        let peer = context.peer
        return try await service.handle(request, peer: peer) { response in
            try await context.send(response)
        }
    }
}
