import AgentCore
import Foundation
import KenProto
import KenRPC
import Logging

/// Why the evaluation's ken-agent could not be used.
public enum EvalAgentError: Error, CustomStringConvertible {
    case notRoot
    case startFailed(String)
    case call(String)
    case refused(code: String, message: String, detail: String)

    public var description: String {
        switch self {
        case .notRoot: "an in-process ken-agent needs root (or pass --agent-socket PATH of a running ken-agent)"
        case .startFailed(let why): "could not start the in-process ken-agent: \(why)"
        case .call(let why): "ken-agent call failed: \(why)"
        case let .refused(code, message, detail):
            detail.isEmpty ? "ken-agent answered \(code): \(message)" : "ken-agent answered \(code): \(message)\n\(detail)"
        }
    }
}

/// The ken-agent an evaluation attaches through: one started in this process (a temporary state
/// directory and bpffs pin root, so a run leaves nothing behind), or a running one by socket.
public final class EvalAgent: Sendable {
    public let socketPath: String
    /// How the pipeline and the calls here reach it.
    public var endpoint: AgentEndpoint { AgentEndpoint(socketPath: socketPath) }
    private let server: AgentServer?
    private let temporaryDirectory: String?

    private init(socketPath: String, server: AgentServer?, temporaryDirectory: String?) {
        self.socketPath = socketPath
        self.server = server
        self.temporaryDirectory = temporaryDirectory
    }

    /// A running agent at `socketPath`.
    public static func external(socketPath: String) -> EvalAgent {
        EvalAgent(socketPath: socketPath, server: nil, temporaryDirectory: nil)
    }

    /// Starts ken-agent in this process. `allowSignal`: the policy lets programs use bpftrace's
    /// `signal()` (the dataset's signal-sending prompts need it); nothing else unsafe is allowed.
    public static func inProcess(allowSignal: Bool = true, bpftracePath: String = "bpftrace") async throws -> EvalAgent {
        guard getuid() == 0 else { throw EvalAgentError.notRoot }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ken-eval-\(getpid())-\(UUID().uuidString.prefix(8))").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EvalAgentError.startFailed("\(error)")
        }
        var policy = AgentPolicy()
        if allowSignal { policy.allowedUnsafeBuiltins = [.signal] }
        policy.detachOnStop = true
        let configuration = AgentConfiguration(stateDirectory: directory + "/agent", policy: policy,
                                               bpftracePath: bpftracePath,
                                               pinRoot: "/sys/fs/bpf/ken-eval-\(getpid())-\(UUID().uuidString.prefix(4))")
        let socket = directory + "/agent.sock"
        do {
            var logger = Logger(label: "ken-eval.agent")
            logger.logLevel = .warning
            let server = try await AgentServer.start(configuration: configuration, endpoint: .path(socket), logger: logger)
            return EvalAgent(socketPath: socket, server: server, temporaryDirectory: directory)
        } catch {
            throw EvalAgentError.startFailed("\(error)")
        }
    }

    /// Stops an in-process agent (detaching what it still holds) and removes its directory.
    public func shutdown() async {
        guard let server else { return }
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: server.service.configuration.pinRoot)
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
    }

    /// Attaches a bpftrace program as it is (the reference mode).
    public func attach(name: String, program: String, prompt: String) async throws -> Ken_V1_Extension {
        var request = Ken_V1_AgentRequest()
        request.attach = Ken_V1_AttachRequest.with {
            $0.name = name
            $0.kind = .bpftrace
            $0.programText = program
            $0.prompt = prompt
        }
        let response = try await call(request)
        return response.attach.extension
    }

    /// Everything the extension printed so far (stdout and stderr), oldest first.
    public func output(id: String) async throws -> String {
        let client: AgentClient
        do { client = try await endpoint.connect() } catch { throw EvalAgentError.call("\(error)") }
        defer { Task { await client.close() } }
        var request = Ken_V1_AgentRequest()
        request.logs = Ken_V1_LogsRequest.with { $0.id = id }
        var lines: [String] = []
        do {
            for try await response in client.stream(request, timeout: .seconds(10)) {
                if response.status.code != .ok {
                    throw EvalAgentError.refused(code: "\(response.status.code)", message: response.status.message,
                                                 detail: response.status.detail)
                }
                if !response.log.text.isEmpty { lines.append(response.log.text) }
            }
        } catch let error as EvalAgentError {
            throw error
        } catch {
            throw EvalAgentError.call("\(error)")
        }
        return lines.joined(separator: "\n")
    }

    /// Detaches an extension; errors are ignored (it may already be gone).
    public func detach(id: String) async {
        var request = Ken_V1_AgentRequest()
        request.detach = Ken_V1_DetachRequest.with { $0.id = id }
        _ = try? await call(request)
    }

    private func call(_ request: Ken_V1_AgentRequest) async throws -> Ken_V1_AgentResponse {
        let response: Ken_V1_AgentResponse
        do { response = try await endpoint.call(request, timeout: .seconds(60)) } catch { throw EvalAgentError.call("\(error)") }
        guard response.status.code == .ok else {
            throw EvalAgentError.refused(code: "\(response.status.code)", message: response.status.message,
                                         detail: response.status.detail)
        }
        return response
    }
}
