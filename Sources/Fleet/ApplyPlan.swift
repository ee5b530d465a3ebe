import KenProto

/// What apply will do for one extension.
public struct PlannedAction: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Declared and not attached: synthesize and attach.
        case create
        /// Declared, attached, but from another version of the manifest (or failed): synthesize
        /// the new version, then replace the old one.
        case update
        /// Declared and attached exactly as declared.
        case unchanged
        /// Attached by an earlier apply and no longer declared (only with --prune).
        case prune
    }

    public var kind: Kind
    public var name: String
    public var manifest: Manifest?
    /// The extension this acts on, when one exists.
    public var existing: Ken_V1_Extension?
    public var reason: String
}

/// Compares what is declared with what runs. Pure: the same inputs give the same plan on every
/// host, which is what makes a second apply report no change.
public enum ApplyPlanner {
    public static func plan(manifests: [Manifest], extensions: [Ken_V1_Extension], prune: Bool) -> [PlannedAction] {
        let live = extensions.filter { $0.state != .detached }
        var byName: [String: Ken_V1_Extension] = [:]
        for item in live { byName[item.name] = item }
        var actions: [PlannedAction] = []
        for manifest in manifests {
            guard let existing = byName[manifest.name] else {
                actions.append(PlannedAction(kind: .create, name: manifest.name, manifest: manifest, existing: nil,
                                             reason: "declared, not attached"))
                continue
            }
            if existing.manifestDigest == manifest.digest && existing.state == .attached {
                actions.append(PlannedAction(kind: .unchanged, name: manifest.name, manifest: manifest, existing: existing,
                                             reason: "attached as declared (\(existing.id))"))
            } else {
                let why: String
                if existing.manifestDigest.isEmpty {
                    why = "an extension of that name was attached by hand (\(existing.id)); the manifest takes it over"
                } else if existing.manifestDigest != manifest.digest {
                    why = "the manifest changed"
                } else {
                    why = "the attached version is \(existing.state)"
                }
                actions.append(PlannedAction(kind: .update, name: manifest.name, manifest: manifest, existing: existing,
                                             reason: why))
            }
        }
        if prune {
            let declared = Set(manifests.map(\.name))
            for item in live where !item.manifestDigest.isEmpty && !declared.contains(item.name) {
                actions.append(PlannedAction(kind: .prune, name: item.name, manifest: nil, existing: item,
                                             reason: "no longer declared"))
            }
        }
        return actions
    }
}
