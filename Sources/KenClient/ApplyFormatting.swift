import Foundation
import KenProto

/// How `kenc apply` reports: a table for people, JSON for tools, and an exit status that
/// configuration management can read as changed/failed.
public enum ApplyFormatting {
    /// 0 nothing changed, 2 something changed, 4 something failed, 6 both — the convention of
    /// Puppet's --detailed-exitcodes, which Ansible's `changed_when`/`failed_when` read easily.
    public static func exit(_ reply: Ken_V1_ApplyReply) -> KencExit {
        .applied(changed: reply.changed, failed: reply.failed)
    }

    public static func exitStatus(_ reply: Ken_V1_ApplyReply) -> Int32 { exit(reply).status }

    /// One progress line of an apply (which extension, which stage).
    public static func progressLine(_ event: Ken_V1_SynthesisEvent) -> String {
        "[\(event.taskID.prefix(8)) attempt \(event.attempt)] \(event.message)"
    }

    public static func table(_ reply: Ken_V1_ApplyReply, dryRun: Bool) -> String {
        var rows = [["NAME", "ACTION", "EXTENSION", "VERDICT", "DETAIL"]]
        for action in reply.actions {
            rows.append([action.name, action.action, action.extensionID.isEmpty ? "-" : action.extensionID,
                         verdictName(action.verdict), detail(action)])
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            (0..<4).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                + "  " + row[4]
        }
        let changed = reply.actions.filter { !["unchanged", "fail"].contains($0.action) }.count
        let failed = reply.actions.filter { $0.action == "fail" }.count
        if reply.actions.isEmpty {
            lines = ["no manifests and nothing to prune"]
        }
        if dryRun {
            lines.append("dry run: \(changed) change(s) planned, nothing done")
        } else if !reply.changed && !reply.failed {
            lines.append("no change: every declared extension is attached as declared")
        } else {
            lines.append("\(changed) changed, \(failed) failed, \(reply.actions.count - changed - failed) unchanged")
        }
        return lines.joined(separator: "\n")
    }

    /// "proven", "checked", or "-" when no program was judged (unchanged, prune, dry run).
    public static func verdictName(_ verdict: Ken_V1_ExtensionVerdict) -> String {
        switch verdict {
        case .proven: "proven"
        case .checked: "checked"
        default: "-"
        }
    }

    /// The message, and for a checked program why nothing was proven.
    static func detail(_ action: Ken_V1_ApplyAction) -> String {
        guard action.verdict == .checked, !action.unprovenReason.isEmpty else { return action.message }
        return action.message + " (nothing proven: \(action.unprovenReason))"
    }

    /// `verdict` is null when no program was judged (unchanged, prune, dry run).
    public static func json(_ reply: Ken_V1_ApplyReply, dryRun: Bool) -> JSONValue {
        .object([
            "changed": .bool(reply.changed),
            "failed": .bool(reply.failed),
            "dry_run": .bool(dryRun),
            "actions": .array(reply.actions.map {
                .object(["name": .string($0.name), "action": .string($0.action),
                         "extension_id": $0.extensionID.isEmpty ? .null : .string($0.extensionID),
                         "message": .string($0.message),
                         "verdict": $0.verdict == .unspecified ? .null : .string(ReportFormatting.extensionVerdictName($0.verdict)),
                         "unproven_reason": $0.unprovenReason.isEmpty ? .null : .string($0.unprovenReason)])
            }),
        ])
    }
}
