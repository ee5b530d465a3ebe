import Foundation
import KenProto
import KenRPC

/// kenc's side of kend's protocol: where the socket is, and one streamed call whose progress
/// events go to `onEvent` and whose final answer is returned — or a `ClientError` with the exit
/// status for what went wrong (4 permission denied, 3 not found, 5 kend unreachable, 1 any
/// other refusal).
public struct KendCalls: Sendable {
    public static let defaultSocket = "/run/ken/kend.sock"
    public static let environmentVariable = "KEN_SOCKET"

    public let socket: String

    public init(socket: String) {
        self.socket = socket
    }

    /// `--kend-socket` if given, else $KEN_SOCKET, else /run/ken/kend.sock.
    public static func socketPath(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let option, !option.isEmpty { return option }
        if let value = environment[environmentVariable], !value.isEmpty { return value }
        return defaultSocket
    }

    public func call(_ request: Ken_V1_KendRequest,
                     onEvent: (Ken_V1_SynthesisEvent) -> Void = { _ in }) async throws(ClientError) -> Ken_V1_KendResponse {
        let client: KendClient
        do {
            client = try await KendClient.connect(path: socket)
        } catch {
            throw ClientError(rpc: error, socket: socket, daemon: .kend)
        }
        var final: Ken_V1_KendResponse?
        do {
            for try await response in client.stream(request) {
                guard response.status.code == .ok else {
                    await client.close()
                    throw ClientError(status: response.status, service: "kend")
                }
                if case .event(let event) = response.result {
                    onEvent(event)
                } else {
                    final = response
                }
            }
        } catch let error as ClientError {
            throw error
        } catch let error as RPCError {
            await client.close()
            throw ClientError(rpc: error, socket: socket, daemon: .kend)
        } catch {
            await client.close()
            throw ClientError(.unreachable, "kend: \(error)")
        }
        await client.close()
        guard let final else { throw ClientError(.failure, "kend closed the call without an answer") }
        return final
    }

    /// One Examples call.
    public func examples(_ request: Ken_V1_ExamplesRequest) async throws(ClientError) -> Ken_V1_ExamplesReply {
        try await call(.with { $0.examples = request }).examples
    }
}
