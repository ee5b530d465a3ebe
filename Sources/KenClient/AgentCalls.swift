import Foundation
import KenProto
import KenRPC

/// kenc's side of the agent protocol: where the socket is, one call or a stream, and the
/// mapping of every failure to a `ClientError` with an exit status.
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

    func connect() async throws(ClientError) -> AgentClient {
        do {
            return try await AgentEndpoint(socketPath: socket).connect()
        } catch {
            throw ClientError(rpc: error, socket: socket)
        }
    }

    /// One call; a non-OK answer is thrown.
    public func call(_ build: (inout Ken_V1_AgentRequest) -> Void) async throws(ClientError) -> Ken_V1_AgentResponse {
        var request = Ken_V1_AgentRequest()
        build(&request)
        var waited = Duration.zero
        while true {
            let client = try await connect()
            let response: Ken_V1_AgentResponse
            do {
                response = try await client.call(request, timeout: timeout)
            } catch {
                await client.close()
                if let pause = Self.retryPause(after: error, waited: waited) {
                    try? await Task.sleep(for: pause)
                    waited += pause
                    continue
                }
                throw ClientError(rpc: error, socket: socket)
            }
            await client.close()
            guard response.status.code == .ok else { throw ClientError(status: response.status) }
            return response
        }
    }

    /// How long to wait before trying again when the agent refused the connection because this
    /// user holds too many (it says "close some and try again"): a short, growing pause, for at
    /// most `connectionRetryBudget` in all; nil for every other error.
    static func retryPause(after error: RPCError, waited: Duration) -> Duration? {
        guard case .serverRejected(_, .resourceExhausted, _) = error, waited < connectionRetryBudget else { return nil }
        return .milliseconds(Int64.random(in: 50...250)) + waited / 4
    }

    /// How long kenc keeps retrying a connection the agent refused for the per-user limit.
    static let connectionRetryBudget = Duration.seconds(30)

    /// A streaming call (Logs with follow): `each` gets every response in order, until the agent
    /// ends the stream or the task is cancelled.
    public func stream(_ build: (inout Ken_V1_AgentRequest) -> Void,
                       _ each: (Ken_V1_AgentResponse) -> Void) async throws(ClientError) {
        var request = Ken_V1_AgentRequest()
        build(&request)
        var waited = Duration.zero
        while true {
            let client = try await connect()
            var answered = false
            do {
                for try await response in client.stream(request) {
                    guard response.status.code == .ok else {
                        await client.close()
                        throw ClientError(status: response.status)
                    }
                    answered = true
                    each(response)
                }
            } catch let error as ClientError {
                throw error
            } catch let error as RPCError {
                await client.close()
                if case .cancelled = error { return }
                // Refused before any answer for the per-user connection limit: try again.
                if !answered, let pause = Self.retryPause(after: error, waited: waited) {
                    try? await Task.sleep(for: pause)
                    waited += pause
                    continue
                }
                throw ClientError(rpc: error, socket: socket)
            } catch {
                await client.close()
                return
            }
            await client.close()
            return
        }
    }

    /// The attach request for a file: an ELF object (by its magic bytes) or a bpftrace script.
    /// `backend`: for scripts only (nil: native, falling back to bpftrace); an object with a
    /// backend is a usage error.
    public static func attachRequest(path: String, name: String?, restart: RestartPolicy?,
                                     backend: ScriptBackend? = nil) throws(ClientError) -> Ken_V1_AttachRequest {
        let data = try InputFile.read(path, allowBinary: true)
        var request = Ken_V1_AttachRequest()
        request.name = name ?? ""
        request.restart = restart?.proto ?? .unspecified
        request.backend = backend?.proto ?? .unspecified
        if data.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]) {
            guard backend == nil else {
                throw ClientError(.usage, "--backend applies to bpftrace scripts; \(path) is a BPF object",
                                  hint: "leave out --backend for objects")
            }
            request.kind = .bpfObject
            request.object = data
        } else {
            request.kind = .bpftrace
            request.programText = try InputFile.text(data, path: path,
                                                      hint: "give a .bt script or a compiled .o BPF object")
        }
        return request
    }

    /// The verify-only request for the same file: nothing is attached and nothing runs.
    public static func verifyRequest(path: String, backend: ScriptBackend? = nil) throws(ClientError) -> Ken_V1_VerifyOnlyRequest {
        let attach = try attachRequest(path: path, name: nil, restart: nil, backend: backend)
        return Ken_V1_VerifyOnlyRequest.with {
            $0.kind = attach.kind
            $0.programText = attach.programText
            $0.object = attach.object
            $0.backend = attach.backend
        }
    }

    /// Sends a verify-only request; `progress` gets the place in the agent's verify queue while
    /// the call waits. Returns the final reply.
    public func verify(_ request: Ken_V1_VerifyOnlyRequest, progress: (UInt32) -> Void) async throws(ClientError) -> Ken_V1_VerifyOnlyReply {
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
            throw ClientError(.failure, "the agent closed the verify-only call without an answer")
        }
        return final
    }

    /// The extension `reference` names: 12 hex digits in any case are an id, anything else a
    /// name. An id that names nothing is tried as a name too (names may look like ids).
    public func get(_ reference: ExtensionReference) async throws(ClientError) -> Ken_V1_Extension {
        do throws(ClientError) {
            return try await call { $0.get = reference.getRequest }.get.extension
        } catch where error.exit == .notFound {
            guard case .id(let id) = reference else { throw error }
            do throws(ClientError) {
                return try await call { $0.get = Ken_V1_GetRequest.with { $0.name = id } }.get.extension
            } catch where error.exit == .notFound {
                throw ClientError(.notFound, "no extension with id or name \(id)", hint: "kenc list shows the extensions")
            }
        }
    }

    /// Detaches the extension `reference` names. One already detached is an error that says
    /// so (detaching twice is harmless to the agent, but a user who asks means something else).
    public func detach(_ reference: ExtensionReference) async throws(ClientError) -> Ken_V1_Extension {
        let current = try await get(reference)
        if current.state == .detached {
            throw ClientError(.failure, "extension \(current.id) (\(current.name)) is already detached",
                              hint: "kenc list shows the attached extensions")
        }
        let id = current.id
        return try await call { $0.detach = Ken_V1_DetachRequest.with { $0.id = id } }.detach.extension
    }
}

/// How a user names an extension on the command line: its id (12 hex digits, any case) or
/// its name. Resolved by kenc, so every command that takes one accepts both the same way.
public enum ExtensionReference: Sendable, Equatable {
    case id(String)
    case name(String)

    /// `3F2A9C1E0B4D` → id `3f2a9c1e0b4d`; `cat-opens` → name.
    public init(_ text: String) {
        let lower = text.lowercased()
        if lower.utf8.count == Self.idLength, lower.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
            self = .id(lower)
        } else {
            self = .name(text)
        }
    }

    /// Extension ids are 12 lower-case hex digits (6 random bytes).
    public static let idLength = 12

    /// From a positional id-or-name or a `--name` option; nil when neither or both are given.
    public init?(positional: String?, name: String?) {
        switch (positional, name) {
        case (let value?, nil): self.init(value)
        case (nil, let value?): self = .name(value)
        default: return nil
        }
    }

    var getRequest: Ken_V1_GetRequest {
        switch self {
        case .id(let id): Ken_V1_GetRequest.with { $0.id = id }
        case .name(let name): Ken_V1_GetRequest.with { $0.name = name }
        }
    }
}
