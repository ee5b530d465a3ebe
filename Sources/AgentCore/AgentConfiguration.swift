import Foundation
import KenVersion

/// Everything ken-agent is started with.
public struct AgentConfiguration: Sendable {
    public static let defaultSocketPath = "/run/ken/agent.sock"
    public static let version = KenVersion.current

    /// Registry, scripts and logs live here (`registry.db`, `extensions/<id>/`).
    public var stateDirectory: String
    public var policy: AgentPolicy
    /// The bpftrace binary ("bpftrace": looked up on PATH).
    public var bpftracePath: String
    /// Directory under bpffs where object extensions pin their links.
    public var pinRoot: String
    /// How long to wait for bpftrace to confirm its probes are attached.
    public var attachTimeoutSeconds: Double
    /// How long records and logs of detached extensions are kept (checked at agent start).
    public var detachedRetentionSeconds: Double = 30 * 86_400
    /// Completes when the kernel facts for unprivileged readers (`TracefsMirror`) are published.
    /// The agent serves before they are (listening must not wait ~2 s for tracefs), so Status —
    /// which kend calls to make sure the facts exist before it reads them — awaits this first
    /// when the caller is not root (root reads tracefs itself).
    public var kernelFactsPublished: (@Sendable () async -> Void)?

    public init(stateDirectory: String = "/var/lib/ken", policy: AgentPolicy = AgentPolicy(),
                bpftracePath: String = "bpftrace", pinRoot: String = "/sys/fs/bpf/ken",
                attachTimeoutSeconds: Double = 30) {
        self.stateDirectory = stateDirectory
        self.policy = policy
        self.bpftracePath = bpftracePath
        self.pinRoot = pinRoot
        self.attachTimeoutSeconds = attachTimeoutSeconds
    }

    /// Per-extension working directory: the script, bpftrace's output logs.
    public func extensionDirectory(id: String) -> String {
        (stateDirectory as NSString).appendingPathComponent("extensions/\(id)")
    }

    public func pinDirectory(id: String) -> String {
        (pinRoot as NSString).appendingPathComponent(id)
    }
}
