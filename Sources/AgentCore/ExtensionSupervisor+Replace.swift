import Foundation
import Registry

/// Make before break: a fleet update attaches the new version of an extension while the old one
/// still runs, and detaches the old one only once the new one is attached.
///
/// Two live extensions cannot share a name, so while both run the new one carries a
/// transitional name, `NAME~ID` (its own id). If the agent dies in between, reconciliation finds
/// that name and finishes the step: the old one is detached and the new one takes the name.
extension ExtensionSupervisor {
    static func transitionalName(_ name: String, id: String) -> String { "\(name)~\(id)" }

    /// The final name of a record that carries a transitional name, or nil.
    static func finalName(of record: ExtensionRecord) -> String? {
        let suffix = "~" + record.id
        guard record.name.hasSuffix(suffix), record.name.count > suffix.count else { return nil }
        return String(record.name.dropLast(suffix.count))
    }

    /// `replacement` is attached: detach `old` (with its reason) and give the replacement its
    /// final name. A failed detach leaves both running and says so in the error.
    func completeReplacement(of old: ExtensionRecord, by replacement: ExtensionRecord) async throws -> ExtensionRecord {
        if (try registry.get(id: old.id, withObject: false))?.state != .detached {
            _ = try await detach(id: old.id, reason: "replaced by \(replacement.id)")
        }
        notes(replacement.id).append("replaced \(old.id), which was detached once this one was attached")
        guard let name = Self.finalName(of: replacement) else { return replacement }
        return try registry.modify(id: replacement.id) { $0.name = name }
    }

    /// After reconciliation: every live record with a transitional name completes its
    /// replacement — the live extension holding the final name is detached, and the record takes
    /// the name.
    func finishReplacements() async -> [ReconcileOutcome] {
        guard let live = try? registry.list(states: [.attaching, .attached]) else { return [] }
        var outcomes: [ReconcileOutcome] = []
        for record in live {
            guard let name = Self.finalName(of: record) else { continue }
            do {
                if record.state == .attached {
                    if let old = try registry.get(name: name, withObject: false), old.id != record.id, old.state != .detached {
                        _ = try await completeReplacement(of: old, by: record)
                    } else {
                        _ = try registry.modify(id: record.id) { $0.name = name }
                    }
                    outcomes.append(ReconcileOutcome(id: record.id, action: .replacementCompleted, reason: "replacement of \(name) completed"))
                }
            } catch {
                logger.error("cannot complete a replacement", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
        return outcomes
    }
}
