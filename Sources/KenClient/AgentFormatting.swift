import Accounts
import Foundation
import KenProto

/// How kenc prints agent answers: terse aligned tables (like `bpftool prog list`) for people,
/// JSON for scripts. Lives in a library so the exact output is tested without a terminal.
public enum AgentFormatting {
    /// Renders rows as left-aligned columns separated by two spaces; the last column is not padded.
    public static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let columns = header.count
        var widths = [Int](repeating: 0, count: columns)
        for row in all { for (i, cell) in row.prefix(columns).enumerated() { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            row.prefix(columns).enumerated().map { i, cell in
                i == columns - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }

    /// 8192 → "8K", 1572864 → "1.5M": the way bpftool and ls -h abbreviate.
    public static func bytes(_ n: UInt64) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        if unit == 0 { return "\(n)B" }
        return value >= 10 || value == value.rounded() ? "\(Int(value.rounded()))\(units[unit])" : String(format: "%.1f%@", value, units[unit])
    }

    /// Seconds → "42s", "5m", "3h", "2d".
    public static func age(milliseconds: Int64, now: Int64) -> String {
        let s = max(0, (now - milliseconds) / 1000)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86400 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    public static func kindName(_ kind: Ken_V1_ProgramKind) -> String {
        switch kind {
        case .bpftrace: return "bpftrace"
        case .bpfObject: return "object"
        default: return "unknown"
        }
    }

    public static func stateName(_ state: Ken_V1_ExtensionState) -> String {
        switch state {
        case .attaching: return "attaching"
        case .attached: return "attached"
        case .failed: return "failed"
        case .detached: return "detached"
        case .detaching: return "detaching"
        default: return "unknown"
        }
    }

    /// The marker ken-agent puts first in `last_error` when the policy in force refused to run an
    /// extension again (at agent start or on restart).
    public static let refusedByPolicy = "refused by policy: "

    /// The STATE column: a failed extension the policy refused says so.
    public static func stateLabel(_ e: Ken_V1_Extension) -> String {
        e.state == .failed && e.lastError.hasPrefix(refusedByPolicy) ? "refused" : stateName(e.state)
    }

    static func ids(_ ids: [UInt32]) -> String { ids.isEmpty ? "-" : ids.map(String.init).joined(separator: ",") }

    static func owner(_ uid: UInt32, names: (UInt32) -> String?) -> String { names(uid) ?? String(uid) }

    /// `kenc list`: Ken's extensions, then (with --all) every kernel program.
    public static func list(_ reply: Ken_V1_ListReply, all: Bool, now: Int64, userName: (UInt32) -> String? = { _ in nil }) -> String {
        var out = ""
        if reply.extensions.isEmpty {
            out += "no extensions\n"
        } else {
            out += table(
                header: ["ID", "NAME", "OWNER", "KIND", "BACKEND", "STATE", "VERDICT", "PROGS", "MEMLOCK", "AGE"],
                rows: reply.extensions.map(live).map { e in
                    [e.id, e.name, owner(e.ownerUid, names: userName), kindName(e.kind), backend(e)?.rawValue ?? "-", stateLabel(e),
                     verdictName(e.verdict), ids(e.progIds), bytes(e.memlockBytes), age(milliseconds: e.createdUnixMs, now: now)]
                })
            // Why the policy refused them: one line each, under the table.
            for e in reply.extensions where stateLabel(e) == "refused" {
                out += "\(e.id): \(e.lastError.split(separator: "\n").first ?? "")\n"
            }
        }
        if all {
            out += "\n"
            out += table(
                header: ["PROG", "TYPE", "NAME", "TAG", "MEMLOCK", "UID", "MAPS", "EXTENSION"],
                rows: reply.programs.map { p in
                    [String(p.id), p.type, p.name.isEmpty ? "-" : p.name, p.tag.isEmpty ? "-" : p.tag, bytes(p.memlockBytes),
                     String(p.uid), ids(p.mapIds), p.extensionID.isEmpty ? "-" : p.extensionID]
                })
        }
        return out
    }

    /// The extension as it is now: a detached one has no live programs, links, memory or
    /// process, whatever the record last saw, so kenc shows none.
    public static func live(_ e: Ken_V1_Extension) -> Ken_V1_Extension {
        guard e.state == .detached else { return e }
        var live = e
        live.progIds = []
        live.linkIds = []
        live.memlockBytes = 0
        live.pid = 0
        return live
    }

    /// `kenc show ID`: every field, one per line, the program text last.
    public static func show(_ shown: Ken_V1_Extension, now: Int64, userName: (UInt32) -> String? = { _ in nil }) -> String {
        let e = live(shown)
        var lines: [(String, String)] = [
            ("id", e.id), ("name", e.name), ("owner", "\(owner(e.ownerUid, names: userName)) (uid \(e.ownerUid))"),
            ("kind", kindName(e.kind)),
        ]
        if let backend = backendLine(e) { lines.append(("backend", backend)) }
        lines += [
            ("state", stateName(e.state)),
            ("prog ids", ids(e.progIds)), ("link ids", ids(e.linkIds)), ("memlock", bytes(e.memlockBytes)),
        ]
        if e.pid != 0 { lines.append(("pid", String(e.pid))) }
        if !e.probes.isEmpty { lines.append(("probes", e.probes.joined(separator: ", "))) }
        if !e.pinDir.isEmpty { lines.append(("pinned", e.pinDir)) }
        if !e.objectSha256.isEmpty { lines.append(("sha256", e.objectSha256)) }
        lines.append(("restart", "\((RestartPolicy(proto: e.restart) ?? .no).rawValue) (restarts: \(e.restarts))"))
        lines.append(("created", "\(iso8601(e.createdUnixMs)) (\(age(milliseconds: e.createdUnixMs, now: now)) ago)"))
        lines.append(("changed", iso8601(e.changedUnixMs)))
        if !e.lastError.isEmpty { lines.append(("last error", e.lastError.replacingOccurrences(of: "\n", with: "\n            "))) }
        if !e.prompt.isEmpty { lines.append(("prompt", e.prompt)) }
        if !e.manifestDigest.isEmpty { lines.append(("manifest", "sha256 \(e.manifestDigest) (managed by kenc apply)")) }
        lines += verdictLines(e)
        var out = lines.map { key, value in (key + ":").padding(toLength: 12, withPad: " ", startingAt: 0) + value }
            .joined(separator: "\n") + "\n"
        if !e.programText.isEmpty {
            out += "\n" + e.programText + (e.programText.hasSuffix("\n") ? "" : "\n")
        }
        if !e.annotatedProgram.isEmpty, e.annotatedProgram != e.programText {
            out += e.verdict == .proven
                ? "\nproven against these annotations (assume/assert are never loaded):\n"
                : "\nannotations, from which nothing was proven (assume/assert are never loaded):\n"
            out += e.annotatedProgram + (e.annotatedProgram.hasSuffix("\n") ? "" : "\n")
        }
        return out
    }

    /// What runs a script: native, or bpftrace (also for scripts recorded before backends were
    /// kept). Nil for objects, which have no backend.
    public static func backend(_ e: Ken_V1_Extension) -> ScriptBackend? {
        guard e.kind == .bpftrace else { return nil }
        return ScriptBackend(proto: e.backend) ?? .bpftrace
    }

    /// `kenc show`'s backend line: `native`, or `bpftrace (REASON)` when one was recorded.
    public static func backendLine(_ e: Ken_V1_Extension) -> String? {
        guard let backend = backend(e) else { return nil }
        return e.backendReason.isEmpty ? backend.rawValue : "\(backend.rawValue) (\(e.backendReason))"
    }

    /// `kenc attach --dry-run`: the verdict, how it was reached, the programs the kernel verifier
    /// accepted (like `bpftool prog load` without pinning), then the log intact.
    public static func dryRun(_ reply: Ken_V1_VerifyOnlyReply, kind: Ken_V1_ProgramKind) -> String {
        let how: String
        switch (kind, ScriptBackend(proto: reply.backend)) {
        case (.bpfObject, _):
            how = "object loaded through the kernel verifier and unloaded; nothing attached"
        case (_, .native?):
            how = "native: loaded through the kernel verifier and unloaded; nothing attached, BEGIN not run"
        case (_, .bpftrace?):
            how = "bpftrace" + (reply.backendReason.isEmpty ? "" : " (\(reply.backendReason))")
                + ": an inert copy was attached briefly; no probe body ran"
        default:
            how = "checked by the agent"
        }
        var out = (reply.accepted ? "accepted" : "rejected") + " (\(how))\n"
        for program in reply.programs { out += "  \(program)\n" }
        if !reply.log.isEmpty { out += reply.log + (reply.log.hasSuffix("\n") ? "" : "\n") }
        return out
    }

    /// The verdict as a column: "proven", "checked", or "-" when none was recorded.
    public static func verdictName(_ verdict: Ken_V1_ExtensionVerdict) -> String {
        switch verdict {
        case .proven: "proven"
        case .checked: "checked"
        default: "-"
        }
    }

    /// Who claimed an assert, as people read it.
    public static func claimantName(_ claimant: Ken_V1_ClaimedBy) -> String {
        switch claimant {
        case .prompt: "the prompt"
        case .llm: "the LLM"
        case .contract: "a kernel contract"
        case .program: "the program's author"
        default: "unknown"
        }
    }

    /// `kenc show`'s verdict lines: what was proven and who claimed it, or why nothing was.
    static func verdictLines(_ e: Ken_V1_Extension) -> [(String, String)] {
        switch e.verdict {
        case .proven:
            return [("verdict", "proven")] + e.provenAsserts.map { claim in
                ("proven", "\(claim.text) (line \(claim.line), claimed by \(claimantName(claim.claimedBy)))")
            }
        case .checked:
            return [("verdict", "checked: nothing was proven"),
                    ("why", e.unprovenReason.isEmpty ? "no reason was recorded" : e.unprovenReason)]
        default:
            return [("verdict", "none recorded (attached by hand, or before verdicts were kept)")]
        }
    }

    /// `kenc logs`: one line per log line; agent notes are marked.
    public static func logLine(_ line: Ken_V1_LogLine) -> String {
        line.stream == "agent" ? "[ken-agent] \(line.text)" : line.text
    }

    /// `kenc agent-status`.
    public static func status(_ s: Ken_V1_AgentStatusReply) -> String {
        let lines: [(String, String)] = [
            ("agent", "ken-agent \(s.version) (pid \(s.pid), up \(age(milliseconds: 0, now: Int64(s.uptimeSeconds * 1000))))"),
            ("kernel", s.kernelRelease), ("bpftrace", s.bpftraceVersion.isEmpty ? "not found" : s.bpftraceVersion),
            ("extensions", "\(s.extensionsTotal) (\(s.extensionsAttached) attached, \(s.extensionsFailed) failed)"),
            ("you", "uid \(s.peerUid) gid \(s.peerGid) pid \(s.peerPid)"),
        ]
        return lines.map { key, value in (key + ":").padding(toLength: 12, withPad: " ", startingAt: 0) + value }
            .joined(separator: "\n") + "\n"
    }

    static func iso8601(_ ms: Int64) -> String {
        guard ms > 0 else { return "-" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

extension AgentFormatting {
    public static func nowUnixMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// The login name of a uid, for the OWNER column (nil when it has none).
    public static func userName(_ uid: UInt32) -> String? {
        UserDatabase.userName(uid: uid)
    }
}
