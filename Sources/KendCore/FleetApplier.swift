import Fleet
import Foundation
import KenProto
import KenRPC
import Pipeline
import Synthesis

/// kend's Apply: makes what runs match a set of fleet manifests.
///
/// Each declared extension is synthesized (or its pinned program checked) with the kernel
/// verifier in VerifyOnly mode first; only a program that passed every check replaces what runs
/// (and, with `require_proof`, only a proven one), so a bad edit
/// never takes a working extension down unless its manifest says `on_failure = "detach"`.
/// Extensions created here carry their manifest's digest, which is how a second apply knows
/// they are unchanged and how `--prune` knows which extensions are its to remove.
public struct FleetApplier: Sendable {
    public let engine: SynthesisEngine
    public let agent: AgentEndpoint

    public init(engine: SynthesisEngine, agent: AgentEndpoint) {
        self.engine = engine
        self.agent = agent
    }

    public func apply(_ request: Ken_V1_ApplyRequest,
                      progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void = { _ in }) async throws -> Ken_V1_ApplyReply {
        var manifests: [Manifest] = []
        var names = Set<String>()
        for item in request.manifests {
            let manifest: Manifest
            do {
                manifest = try Manifest(proto: item)
            } catch {
                throw RPCStatusError(.invalidArgument, "\(error)")
            }
            guard names.insert(manifest.name).inserted else {
                throw RPCStatusError(.invalidArgument, "extension \"\(manifest.name)\" is declared twice")
            }
            manifests.append(manifest)
        }
        let client: AgentClient
        do {
            client = try await agent.connect()
        } catch {
            throw RPCStatusError(.failedPrecondition, "\(error)", hint: "start ken-agent (systemctl start ken-agent.socket)")
        }
        defer { Task { await client.close() } }
        let listed = try await client.call(Ken_V1_AgentRequest.with { $0.list = Ken_V1_ListRequest() })
        guard listed.status.code == .ok else {
            throw RPCStatusError(listed.status.code, "ken-agent: \(listed.status.message)", hint: listed.status.hint)
        }
        let plan = ApplyPlanner.plan(manifests: manifests, extensions: listed.list.extensions, prune: request.prune)

        var reply = Ken_V1_ApplyReply()
        for action in plan {
            var result = Ken_V1_ApplyAction()
            result.name = action.name
            result.action = action.kind.rawValue
            result.extensionID = action.existing?.id ?? ""
            result.message = action.reason
            if request.dryRun || action.kind == .unchanged {
                if request.dryRun, action.kind != .unchanged { result.message += " (dry run)"; reply.changed = true }
                reply.actions.append(result)
                continue
            }
            switch action.kind {
            case .unchanged:
                break
            case .prune:
                if let existing = action.existing {
                    let detached = try await detach(existing.id, client: client)
                    if let failure = detached { result.action = "fail"; result.message = "prune failed: \(failure)"; reply.failed = true }
                    else { reply.changed = true }
                }
            case .create, .update:
                guard let manifest = action.manifest else { continue }
                let outcome = try await realise(manifest, replacing: action.existing, client: client,
                                                requireProof: request.requireProof || manifest.requireProof, progress: progress)
                result.extensionID = outcome.extensionID
                result.message = outcome.message
                result.verdict = outcome.verdict
                result.unprovenReason = outcome.unprovenReason
                if outcome.failed {
                    result.action = "fail"
                    reply.failed = true
                }
                if outcome.changed { reply.changed = true }
            }
            reply.actions.append(result)
        }
        return reply
    }

    struct Outcome {
        var extensionID: String
        var message: String
        var changed: Bool
        var failed: Bool
        var verdict: Ken_V1_ExtensionVerdict = .unspecified
        var unprovenReason = ""
    }

    /// Synthesizes (or checks the pinned program of) one manifest, then attaches it in place of
    /// `replacing`.
    func realise(_ manifest: Manifest, replacing existing: Ken_V1_Extension?, client: AgentClient, requireProof: Bool,
                 progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async throws -> Outcome {
        let call = Ken_V1_SynthesizeRequest.with {
            $0.prompt = manifest.prompt
            $0.name = manifest.name
            // A pinned program is checked once: it is never rewritten, so a retry would repeat it.
            $0.maxAttempts = manifest.program == nil ? UInt32(manifest.maxAttempts) : 1
            $0.verifyOnly = true
            $0.requireProof = requireProof
        }
        let pinned = manifest.program.map {
            PinnedSource(program: $0, origin: .pinned(label: manifest.sourcePath),
                         label: "pinned program of \(manifest.name)", fallback: nil)
        }
        let report = try await engine.synthesize(call, pinned: pinned, onEvent: progress)
        guard report.passed else {
            var message = "not attached: " + Self.firstError(report)
            var changed = false
            if manifest.onFailure == .detach, let existing {
                if let failure = try await detach(existing.id, client: client) {
                    message += "; detaching the old version failed too: \(failure)"
                } else {
                    message += "; the old version was detached (on_failure = detach)"
                    changed = true
                }
            } else if existing != nil {
                message += "; the running version is kept"
            }
            return Outcome(extensionID: existing?.id ?? "", message: message, changed: changed, failed: true,
                           unprovenReason: report.unprovenReason)
        }
        // Make before break: the agent attaches the new version while the old one runs, and
        // detaches the old one only once the new one is attached.
        let attached = try await client.call(Ken_V1_AgentRequest.with {
            $0.attach = Ken_V1_AttachRequest.with {
                $0.name = manifest.name
                $0.kind = .bpftrace
                $0.programText = report.program
                $0.prompt = manifest.prompt
                $0.annotatedProgram = report.annotatedProgram
                $0.manifestDigest = manifest.digest
                $0.verdict = report.verdict
                $0.provenAsserts = report.provenAsserts
                $0.unprovenReason = report.unprovenReason
                $0.replacesID = existing?.id ?? ""
            }
        }, timeout: .seconds(60))
        guard attached.status.code == .ok else {
            var text = attached.status.message
            if !attached.status.detail.isEmpty { text += ": " + attached.status.detail.prefix(2000) }
            if existing != nil { text += "; the running version is kept" }
            return Outcome(extensionID: existing?.id ?? "", message: "passed every check but not attached: \(text)", changed: false,
                           failed: true, verdict: report.verdict, unprovenReason: report.unprovenReason)
        }
        let source = report.origin == .unspecified ? "" : " (\(report.origin.name))"
        return Outcome(extensionID: attached.attach.extension.id,
                       message: "\(existing == nil ? "attached" : "replaced \(existing?.id ?? "")")\(source) after \(report.attempts.count) attempt(s)",
                       changed: true, failed: false, verdict: report.verdict, unprovenReason: report.unprovenReason)
    }

    /// Detaches by id; the failure text, or nil when it worked.
    func detach(_ id: String, client: AgentClient) async throws -> String? {
        let answer = try await client.call(Ken_V1_AgentRequest.with { $0.detach = Ken_V1_DetachRequest.with { $0.id = id } })
        return answer.status.code == .ok ? nil : answer.status.message
    }

    static func firstError(_ report: Ken_V1_SynthesisReport) -> String {
        for attempt in report.attempts.reversed() {
            if let error = attempt.errors.first { return error.message }
        }
        return report.note.isEmpty ? "no candidate passed every check" : report.note
    }
}
