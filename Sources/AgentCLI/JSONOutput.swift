import Foundation
import KenProto

/// `--json` output: stable snake_case keys, numbers as numbers, sorted keys so diffs and `jq`
/// scripts stay stable. Not protobuf's JSON mapping, whose int64-as-string and camelCase keys
/// are awkward in shell scripts.
public enum AgentJSON {
    public static func object(_ e: Ken_V1_Extension) -> [String: Any] {
        [
            "id": e.id, "name": e.name, "owner_uid": e.ownerUid, "kind": AgentFormatting.kindName(e.kind),
            "state": AgentFormatting.stateName(e.state), "prog_ids": e.progIds, "link_ids": e.linkIds,
            "memlock_bytes": e.memlockBytes, "pid": e.pid, "probes": e.probes, "pin_dir": e.pinDir,
            "object_sha256": e.objectSha256, "restart_policy": e.restartPolicy.isEmpty ? "no" : e.restartPolicy,
            "restarts": e.restarts, "created_unix_ms": e.createdUnixMs, "changed_unix_ms": e.changedUnixMs,
            "last_error": e.lastError, "prompt": e.prompt, "program_text": e.programText,
            "annotated_program": e.annotatedProgram, "manifest_digest": e.manifestDigest,
            "verdict": AgentFormatting.verdictName(e.verdict), "proven_asserts": e.provenAsserts.map(object),
            "unproven_reason": e.unprovenReason,
        ]
    }

    public static func object(_ claim: Ken_V1_ProvenAssert) -> [String: Any] {
        ["text": claim.text, "line": claim.line, "column": claim.column,
         "claimed_by": ["", "prompt", "llm", "contract", "program"][safe: claim.claimedBy.rawValue] ?? ""]
    }

    public static func object(_ p: Ken_V1_KernelProgram) -> [String: Any] {
        [
            "id": p.id, "type": p.type, "name": p.name, "tag": p.tag, "memlock_bytes": p.memlockBytes,
            "uid": p.uid, "loaded_at_unix_ms": p.loadedAtUnixMs, "map_ids": p.mapIds,
            "extension_id": p.extensionID.isEmpty ? NSNull() : p.extensionID as Any,
        ]
    }

    public static func object(_ s: Ken_V1_AgentStatusReply) -> [String: Any] {
        [
            "version": s.version, "kernel_release": s.kernelRelease, "bpftrace_version": s.bpftraceVersion,
            "extensions_total": s.extensionsTotal, "extensions_attached": s.extensionsAttached,
            "extensions_failed": s.extensionsFailed, "uptime_seconds": s.uptimeSeconds, "pid": s.pid,
            "peer_uid": s.peerUid, "peer_gid": s.peerGid, "peer_pid": s.peerPid,
        ]
    }

    /// `kenc list --json`: an array of extensions; with --all, an object with both arrays.
    public static func list(_ reply: Ken_V1_ListReply, all: Bool) -> String {
        if all {
            return render(["extensions": reply.extensions.map(object), "programs": reply.programs.map(object)])
        }
        return render(reply.extensions.map(object))
    }

    /// Pretty, key-sorted JSON text with a trailing newline.
    public static func render(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "null\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
