/// Errors from the SQLite wrapper. Each carries SQLite's own message so that a failure in the
/// registry can be diagnosed from a log line alone.
public enum SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sqlite3_open_v2` failed (missing directory, permissions, not a database).
    case open(path: String, code: Int32, message: String)
    /// Preparing a statement failed (syntax error, unknown table or column).
    case prepare(sql: String, code: Int32, message: String)
    /// Executing a statement failed (constraint violation, disk full, busy after the timeout).
    case step(sql: String, code: Int32, message: String)
    /// Binding a parameter failed (index out of range).
    case bind(index: Int32, code: Int32, message: String)
    /// A column was read with a type it does not hold, or by a name the row does not have.
    case column(String)
    /// A transaction was misused (nested begin, commit without begin).
    case transaction(String)

    public var description: String {
        switch self {
        case let .open(path, code, message): return "cannot open SQLite database \(path): \(message) (code \(code))"
        case let .prepare(sql, code, message): return "SQLite cannot prepare \"\(sql)\": \(message) (code \(code))"
        case let .step(sql, code, message): return "SQLite statement \"\(sql)\" failed: \(message) (code \(code))"
        case let .bind(index, code, message): return "SQLite cannot bind parameter \(index): \(message) (code \(code))"
        case let .column(message): return "SQLite column: \(message)"
        case let .transaction(message): return "SQLite transaction: \(message)"
        }
    }

    /// SQLite's primary result code, when the error came from SQLite.
    public var code: Int32? {
        switch self {
        case let .open(_, code, _), let .prepare(_, code, _), let .step(_, code, _), let .bind(_, code, _): return code
        case .column, .transaction: return nil
        }
    }

    /// True for a UNIQUE or other constraint violation (SQLITE_CONSTRAINT = 19).
    public var isConstraintViolation: Bool { (code ?? 0) & 0xff == 19 }
}
