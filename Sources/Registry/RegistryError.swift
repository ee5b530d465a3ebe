import SQLite

/// Why a registry operation failed.
public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another extension that is not detached already has this name.
    case nameInUse(String)
    /// The id is already taken (a random collision; the caller picks another).
    case idInUse(String)
    case notFound(String)
    /// The database file is newer than this program understands.
    case schemaTooNew(found: Int, supported: Int)
    /// A stored row could not be read back (edited by hand, or corrupted).
    case corruptRow(id: String, reason: String)
    case database(SQLiteError)
    case io(String)

    public var description: String {
        switch self {
        case let .nameInUse(name): return "an extension named \"\(name)\" is already attached; detach it or choose another --name"
        case let .idInUse(id): return "extension id \(id) already exists"
        case let .notFound(key): return "no extension \(key)"
        case let .schemaTooNew(found, supported):
            return "registry schema version \(found) is newer than this agent supports (\(supported)); upgrade ken-agent"
        case let .corruptRow(id, reason): return "registry row \(id) is unreadable: \(reason)"
        case let .database(error): return "registry database: \(error)"
        case let .io(message): return "registry: \(message)"
        }
    }
}
