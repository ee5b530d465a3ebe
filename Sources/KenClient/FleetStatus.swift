import Foundation
import KenProto
import KernelInfo
import KenRPC

/// `kenc status`: one document with both daemons, the kernel and every extension — what fleet
/// fact gathering (Ansible facts, a DaemonSet's readiness check) reads. A daemon that cannot be
/// reached is reported as such, not as an error of the whole document.
public struct FleetStatus: Sendable {
    public var agent: Ken_V1_AgentStatusReply?
    public var agentError: String?
    public var kend: Ken_V1_KendStatusReply?
    public var kendError: String?
    public var extensions: [Ken_V1_Extension]

    public init(agent: Ken_V1_AgentStatusReply? = nil, agentError: String? = nil, kend: Ken_V1_KendStatusReply? = nil,
                kendError: String? = nil, extensions: [Ken_V1_Extension] = []) {
        self.agent = agent
        self.agentError = agentError
        self.kend = kend
        self.kendError = kendError
        self.extensions = extensions
    }

    public static func gather(agentSocket: String, kendSocket: String) async -> FleetStatus {
        var status = FleetStatus()
        do {
            let client = try await AgentEndpoint(socketPath: agentSocket, connectTimeout: .seconds(3)).connect()
            let answer = try await client.call(.with { $0.status = .init() }, timeout: .seconds(5))
            if answer.status.code == .ok { status.agent = answer.statusReply } else { status.agentError = answer.status.message }
            let list = try await client.call(.with { $0.list = .init() }, timeout: .seconds(10))
            if list.status.code == .ok { status.extensions = list.list.extensions }
            await client.close()
        } catch {
            status.agentError = ClientError(rpc: error, socket: agentSocket, daemon: .agent).message
        }
        do {
            let client = try await KendClient.connect(path: kendSocket, timeout: .seconds(3))
            let answer = try await client.call(.with { $0.status = .init() }, timeout: .seconds(5))
            if answer.status.code == .ok { status.kend = answer.statusReply } else { status.kendError = answer.status.message }
            await client.close()
        } catch {
            status.kendError = ClientError(rpc: error, socket: kendSocket, daemon: .kend).message
        }
        return status
    }

    public var kernelRelease: String {
        agent?.kernelRelease ?? kend?.kernelRelease ?? KernelInfo.runningRelease()
    }

    /// Success when both daemons answered, unreachable when either did not.
    public var exit: KencExit { agent != nil && kend != nil ? .success : .unreachable }

    /// 0 when both daemons answered, 5 when either did not.
    public var exitStatus: Int32 { exit.status }

    /// The document: `agent` and `kend` are null when unreachable, and `agent_error` /
    /// `kend_error` say why (null when they answered); `counts` has every state, zeros included.
    public func json() -> JSONValue {
        var counts: [String: JSONValue] = [:]
        for state in [Ken_V1_ExtensionState.attaching, .attached, .failed, .detaching, .detached] {
            counts[AgentFormatting.stateName(state)] = .int(extensions.filter { $0.state == state }.count)
        }
        var verdicts: [String: JSONValue] = [:]
        for verdict in [Ken_V1_ExtensionVerdict.proven, .checked, .unspecified] {
            verdicts[ReportFormatting.extensionVerdictName(verdict)] = .int(extensions.filter { $0.verdict == verdict }.count)
        }
        return .object([
            "kernel": .string(kernelRelease),
            "agent": agent.map(AgentJSON.object) ?? .null,
            "agent_error": agent == nil ? .string(agentError ?? "unreachable") : .null,
            "kend": kend.map(Self.object) ?? .null,
            "kend_error": kend == nil ? .string(kendError ?? "unreachable") : .null,
            "extensions": .array(extensions.map(AgentJSON.object)),
            "counts": .object(counts),
            "verdicts": .object(verdicts),
        ])
    }

    /// kend's Status answer.
    public static func object(_ s: Ken_V1_KendStatusReply) -> JSONValue {
        .object([
            "version": .string(s.version), "kernel_release": .string(s.kernelRelease),
            "llm_endpoint": s.llmEndpoint.isEmpty ? .null : .string(s.llmEndpoint),
            "llm_model": s.llmModel.isEmpty ? .null : .string(s.llmModel),
            "examples": .int(s.examples),
            "agent_version": s.agentVersion.isEmpty ? .null : .string(s.agentVersion),
            "uptime_seconds": .double(s.uptimeSeconds),
        ])
    }

    public func text() -> String {
        var lines = ["kernel: \(kernelRelease)"]
        if let agent {
            lines.append("ken-agent: \(agent.version), up \(Int(agent.uptimeSeconds)) s, \(agent.extensionsAttached) attached, \(agent.extensionsFailed) failed")
        } else {
            lines.append("ken-agent: unreachable: \(agentError ?? "")")
        }
        if let kend {
            let llm = kend.llmEndpoint.isEmpty ? "no LLM (offline library)" : "LLM \(kend.llmModel) at \(kend.llmEndpoint)"
            lines.append("kend: \(kend.version), \(llm), \(kend.examples) examples")
        } else {
            lines.append("kend: unreachable: \(kendError ?? "")")
        }
        for item in extensions {
            lines.append("  \(item.id)  \(item.name)  \(AgentFormatting.stateName(item.state))  \(ApplyFormatting.verdictName(item.verdict))\(item.manifestDigest.isEmpty ? "" : "  (managed by apply)")")
        }
        return lines.joined(separator: "\n")
    }
}
