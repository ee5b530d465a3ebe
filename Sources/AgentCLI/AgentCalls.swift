import Foundation
import KenProto
import KenRPC

/// kenc's side of the agent protocol: where the socket is, one call or a stream, and the
/// mapping of every failure to an `AgentCLIError` with an exit code.
public struct AgentCalls: Sendable {
    public static let defaultSocket = "/run/ken/agent.sock"
    public static let environmentVariable = "KEN_AGENT_SOCKET"

    public let socket: String
    /// Per-call timeout (attach may wait for bpftrace and the verifier).
    public var timeout: Duration = .seconds(120)

    /// `--agent-socket` if given, else $KEN_AGENT_SOCKET, else /run/ken/agent.sock.
    public static func socketPath(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let option, !option.isEmpty { return option }
        if let value = environment[environmentVariable], !value.isEmpty { return value }
        return defaultSocket
    }

    public init(socket: String) {
        self.socket = socket
    }

    func connect() async throws(AgentCLIError) -> AgentClient {
        do {
            return try await AgentClient.connect(path: socket)
        } catch {
            throw AgentCLIError(rpc: error, socket: socket)
        }
    }

    /// One call; a non-OK answer is thrown.
    public func call(_ build: (inout Ken_V1_AgentRequest) -> Void) async throws(AgentCLIError) -> Ken_V1_AgentResponse {
        var request = Ken_V1_AgentRequest()
        build(&request)
        let client = try await connect()
        let response: Ken_V1_AgentResponse
        do {
            response = try await client.call(request, timeout: timeout)
        } catch {
            await client.close()
            throw AgentCLIError(rpc: error, socket: socket)
        }
        await client.close()
        guard response.status.code == .ok else { throw AgentCLIError(status: response.status) }
        return response
    }

    /// A streaming call (Logs with follow): `each` gets every response in order, until the agent
    /// ends the stream or the task is cancelled.
    public func stream(_ build: (inout Ken_V1_AgentRequest) -> Void,
                       _ each: (Ken_V1_AgentResponse) -> Void) async throws(AgentCLIError) {
        var request = Ken_V1_AgentRequest()
        build(&request)
        let client = try await connect()
        do {
            for try await response in client.stream(request) {
                guard response.status.code == .ok else {
                    await client.close()
                    throw AgentCLIError(status: response.status)
                }
                each(response)
            }
        } catch let error as AgentCLIError {
            throw error
        } catch let error as RPCError {
            await client.close()
            if case .cancelled = error { return }
            throw AgentCLIError(rpc: error, socket: socket)
        } catch {
            await client.close()
            return
        }
        await client.close()
    }

    /// The attach request for a file: an ELF object (by its magic bytes) or a bpftrace script.
    public static func attachRequest(path: String, name: String?, restart: String?) throws(AgentCLIError) -> Ken_V1_AttachRequest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentCLIError(.usage, "cannot read \(path)", hint: "give a .bt script or a compiled .o BPF object")
        }
        var request = Ken_V1_AttachRequest()
        request.name = name ?? ""
        request.restartPolicy = restart ?? ""
        if data.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]) {
            request.kind = .bpfObject
            request.object = data
        } else {
            guard let text = String(data: data, encoding: .utf8) else {
                throw AgentCLIError(.usage, "\(path) is neither UTF-8 text (a bpftrace script) nor an ELF object")
            }
            request.kind = .bpftrace
            request.programText = text
        }
        return request
    }

    /// The verify-only request for the same file: nothing is attached and nothing runs.
    public static func verifyRequest(path: String) throws(AgentCLIError) -> Ken_V1_VerifyOnlyRequest {
        let attach = try attachRequest(path: path, name: nil, restart: nil)
        return Ken_V1_VerifyOnlyRequest.with {
            $0.kind = attach.kind
            $0.programText = attach.programText
            $0.object = attach.object
        }
    }

    /// Sends a verify-only request; `progress` gets the place in the agent's verify queue while
    /// the call waits. Returns the final reply.
    public func verify(_ request: Ken_V1_VerifyOnlyRequest, progress: (UInt32) -> Void) async throws(AgentCLIError) -> Ken_V1_VerifyOnlyReply {
        // No overall timeout: the agent bounds each verify (limits.verify_seconds) and reports the
        // queue while the call waits.
        var final: Ken_V1_VerifyOnlyReply?
        try await stream({ $0.verifyOnly = request }) { response in
            if response.more {
                if response.verifyOnly.queuePosition > 0 { progress(response.verifyOnly.queuePosition) }
            } else {
                final = response.verifyOnly
            }
        }
        guard let final else {
            throw AgentCLIError(.failure, "the agent closed the verify-only call without an answer")
        }
        return final
    }
}
