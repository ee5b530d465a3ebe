import Foundation
import KenProto

/// `--json` documents for the agent's answers (`attach`, `list`, `show`, `agent-status`, and
/// the extensions in `status`), in kenc's one JSON style (see `JSONValue`). Not protobuf's JSON
/// mapping, whose int64-as-string, upper-case enums and omitted defaults are awkward in shell
/// scripts.
public enum AgentJSON {
    /// One extension. A detached extension has no live programs, links or process: those are
    /// empty (`[]`) and `pid` is `null`, as for one that never had any.
    public static func object(_ extension: Ken_V1_Extension) -> JSONValue {
        let e = AgentFormatting.live(`extension`)
        return .object([
            "id": .string(e.id), "name": .string(e.name), "owner_uid": .int(e.ownerUid),
            "kind": .string(AgentFormatting.kindName(e.kind)), "state": .string(AgentFormatting.stateName(e.state)),
            "prog_ids": .ints(e.progIds), "link_ids": .ints(e.linkIds), "memlock_bytes": .int(e.memlockBytes),
            "pid": e.pid == 0 ? .null : .int(e.pid), "probes": .strings(e.probes),
            "pin_dir": e.pinDir.isEmpty ? .null : .string(e.pinDir),
            "object_sha256": e.objectSha256.isEmpty ? .null : .string(e.objectSha256),
            "restart_policy": .string((RestartPolicy(proto: e.restart) ?? .no).rawValue),
            "restarts": .int(e.restarts), "created_unix_ms": .int(e.createdUnixMs),
            "changed_unix_ms": e.changedUnixMs == 0 ? .null : .int(e.changedUnixMs),
            "last_error": e.lastError.isEmpty ? .null : .string(e.lastError),
            "prompt": e.prompt.isEmpty ? .null : .string(e.prompt),
            "program_text": .string(e.programText),
            "annotated_program": e.annotatedProgram.isEmpty ? .null : .string(e.annotatedProgram),
            "manifest_digest": e.manifestDigest.isEmpty ? .null : .string(e.manifestDigest),
            "verdict": e.verdict == .unspecified ? .null : .string(ReportFormatting.extensionVerdictName(e.verdict)),
            "proven_asserts": .array(e.provenAsserts.map(ReportFormatting.json)),
            "unproven_reason": e.unprovenReason.isEmpty ? .null : .string(e.unprovenReason),
            "backend": AgentFormatting.backend(e).map { .string($0.rawValue) } ?? .null,
            "backend_reason": e.backendReason.isEmpty ? .null : .string(e.backendReason),
        ])
    }

    /// One BPF program in the kernel; `extension_id` is null for programs that are not Ken's.
    public static func object(_ p: Ken_V1_KernelProgram) -> JSONValue {
        .object([
            "id": .int(p.id), "type": .string(p.type), "name": .string(p.name), "tag": .string(p.tag),
            "memlock_bytes": .int(p.memlockBytes), "uid": .int(p.uid),
            "loaded_at_unix_ms": p.loadedAtUnixMs == 0 ? .null : .int(p.loadedAtUnixMs), "map_ids": .ints(p.mapIds),
            "extension_id": p.extensionID.isEmpty ? .null : .string(p.extensionID),
        ])
    }

    /// `kenc agent-status --json`, and the `agent` member of `kenc status --json`.
    public static func object(_ s: Ken_V1_AgentStatusReply) -> JSONValue {
        .object([
            "version": .string(s.version), "kernel_release": .string(s.kernelRelease),
            "bpftrace_version": s.bpftraceVersion.isEmpty ? .null : .string(s.bpftraceVersion),
            "extensions_total": .int(s.extensionsTotal), "extensions_attached": .int(s.extensionsAttached),
            "extensions_failed": .int(s.extensionsFailed), "uptime_seconds": .double(s.uptimeSeconds), "pid": .int(s.pid),
            "peer_uid": .int(s.peerUid), "peer_gid": .int(s.peerGid), "peer_pid": .int(s.peerPid),
        ])
    }

    /// `kenc attach --dry-run --json`.
    public static func object(_ reply: Ken_V1_VerifyOnlyReply) -> JSONValue {
        .object([
            "accepted": .bool(reply.accepted), "log": .string(reply.log), "programs": .strings(reply.programs),
            "queued_ms": .int(reply.queuedMs),
            "backend": ScriptBackend(proto: reply.backend).map { .string($0.rawValue) } ?? .null,
            "backend_reason": reply.backendReason.isEmpty ? .null : .string(reply.backendReason),
        ])
    }

    /// `kenc list --json`: an array of extensions; with --all, an object with both arrays.
    public static func list(_ reply: Ken_V1_ListReply, all: Bool) -> JSONValue {
        if all {
            return .object(["extensions": .array(reply.extensions.map(object)), "programs": .array(reply.programs.map(object))])
        }
        return .array(reply.extensions.map(object))
    }
}
