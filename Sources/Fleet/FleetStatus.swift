import Foundation
import KenProto
import KernelInfo
import KenRPC
import SwiftProtobuf

/// `kenc status`: one document with both daemons, the kernel and every extension — what fleet
/// fact gathering (Ansible facts, a DaemonSet's readiness check) reads. A daemon that cannot be
/// reached is reported as such, not as an error of the whole document.
public struct FleetStatus: Sendable {
    public var agent: Ken_V1_AgentStatusReply?
    public var agentError: String?
    public var kend: Ken_V1_KendStatusReply?
    public var kendError: String?
    public var extensions: [Ken_V1_Extension]

    public static func gather(agentSocket: String, kendSocket: String) async -> FleetStatus {
        var status = FleetStatus(agent: nil, agentError: nil, kend: nil, kendError: nil, extensions: [])
        do {
            let client = try await AgentClient.connect(path: agentSocket, timeout: .seconds(3))
            let answer = try await client.call(.with { $0.status = .init() }, timeout: .seconds(5))
            if answer.status.code == .ok { status.agent = answer.statusReply } else { status.agentError = answer.status.message }
            let list = try await client.call(.with { $0.list = .init() }, timeout: .seconds(10))
            if list.status.code == .ok { status.extensions = list.list.extensions }
            await client.close()
        } catch {
            status.agentError = "\(error)"
        }
        do {
            let client = try await KendClient.connect(path: kendSocket, timeout: .seconds(3))
            let answer = try await client.call(.with { $0.status = .init() }, timeout: .seconds(5))
            if answer.status.code == .ok { status.kend = answer.statusReply } else { status.kendError = answer.status.message }
            await client.close()
        } catch {
            status.kendError = "\(error)"
        }
        return status
    }

    public var kernelRelease: String {
        agent?.kernelRelease ?? kend?.kernelRelease ?? KernelInfo.runningRelease()
    }

    /// 0 when both daemons answered, 5 when either did not.
    public var exitStatus: Int32 { agent != nil && kend != nil ? 0 : 5 }

    public func json() -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        func object(_ message: (any SwiftProtobuf.Message)?) -> Any {
            guard let message, let text = try? message.jsonString(options: options),
                  let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return NSNull() }
            return value
        }
        let document: [String: Any] = [
            "kernel": kernelRelease,
            "agent": agent.map { object($0) } ?? ["error": agentError ?? "unreachable"],
            "kend": kend.map { object($0) } ?? ["error": kendError ?? "unreachable"],
            "extensions": extensions.map { object($0) },
            "counts": Dictionary(grouping: extensions, by: { Self.stateName($0.state) }).mapValues(\.count),
            "verdicts": Dictionary(grouping: extensions, by: { ApplyFormatting.verdictName($0.verdict) }).mapValues(\.count),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
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
            lines.append("  \(item.id)  \(item.name)  \(Self.stateName(item.state))  \(ApplyFormatting.verdictName(item.verdict))\(item.manifestDigest.isEmpty ? "" : "  (managed by apply)")")
        }
        return lines.joined(separator: "\n")
    }

    static func stateName(_ state: Ken_V1_ExtensionState) -> String {
        switch state {
        case .attaching: "attaching"
        case .attached: "attached"
        case .failed: "failed"
        case .detached: "detached"
        case .detaching: "detaching"
        default: "unknown"
        }
    }
}
