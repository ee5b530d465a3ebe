import CSQLite
import Foundation

/// A connection to one SQLite database file.
///
/// Opened in WAL mode with `synchronous=FULL`: every committed transaction is on disk (the WAL is
/// fsynced at commit) before `execute`/`transaction` returns, so a process killed with SIGKILL —
/// or a power cut — loses no committed row. A busy timeout lets a second process (e.g. an
/// operator's `sqlite3` shell) read without failing the agent's writes.
///
/// All access is serialised by a recursive lock, so one connection may be shared between tasks;
/// the lock is recursive so that statements run inside `transaction { }` on the same thread.
public final class SQLiteDatabase: @unchecked Sendable {
    /// Guarded by `lock`.
    private var handle: OpaquePointer?
    private let lock = NSRecursiveLock()
    private var inTransaction = false
    public let path: String

    /// Opens (creating if needed) the database at `path`. Use ":memory:" for a private in-memory
    /// database.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000, readOnly: Bool = false) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw .open(path: path, code: rc, message: message)
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(db, 1)
        if !readOnly && path != ":memory:" {
            var mode = ""
            if let row = try query("PRAGMA journal_mode=WAL").first { mode = try row.string("journal_mode") }
            guard mode.lowercased() == "wal" else {
                throw .open(path: path, code: SQLITE_ERROR, message: "cannot switch to WAL journal mode (got \(mode))")
            }
        }
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Closes the connection; later calls fail. Safe to call twice.
    public func close() {
        lock.lock(); defer { lock.unlock() }
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    func withHandle<T>(_ body: (OpaquePointer) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        lock.lock(); defer { lock.unlock() }
        guard let handle else { throw .open(path: path, code: SQLITE_MISUSE, message: "database is closed") }
        return try body(handle)
    }

    func errorMessage(_ db: OpaquePointer) -> String { String(cString: sqlite3_errmsg(db)) }

    /// Prepares a statement for repeated use.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql)
    }

    /// Runs one statement (binding `values` to `?` parameters in order) and discards any rows.
    public func execute(_ sql: String, _ values: [any SQLiteBindable] = []) throws(SQLiteError) {
        let statement = try prepare(sql)
        try statement.bind(values)
        while try statement.step() != nil {}
    }

    /// Runs several `;`-separated statements without parameters (schema scripts).
    public func executeScript(_ sql: String) throws(SQLiteError) {
        try withHandle { (db) throws(SQLiteError) in
            var errmsg: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(db, sql, nil, nil, &errmsg)
            if rc != SQLITE_OK {
                let message = errmsg.map { String(cString: $0) } ?? errorMessage(db)
                sqlite3_free(errmsg)
                throw .step(sql: sql, code: rc, message: message)
            }
        }
    }

    /// Runs one query and returns all its rows.
    public func query(_ sql: String, _ values: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        let statement = try prepare(sql)
        try statement.bind(values)
        var rows: [SQLiteRow] = []
        while let row = try statement.step() { rows.append(row) }
        return rows
    }

    /// Rows changed by the most recent INSERT/UPDATE/DELETE on this connection.
    public var changes: Int {
        (try? withHandle { db in Int(sqlite3_changes(db)) }) ?? 0
    }

    /// The rowid of the most recent INSERT on this connection.
    public var lastInsertRowID: Int64 {
        (try? withHandle { db in sqlite3_last_insert_rowid(db) }) ?? 0
    }

    /// `PRAGMA user_version`: the schema version, for migrations.
    public func userVersion() throws(SQLiteError) -> Int {
        Int(try query("PRAGMA user_version").first?.int64("user_version") ?? 0)
    }

    public func setUserVersion(_ version: Int) throws(SQLiteError) {
        try execute("PRAGMA user_version=\(version)")
    }

    /// Runs `body` in an IMMEDIATE transaction (the write lock is taken at once, so two writers
    /// never deadlock half-way). Commits when `body` returns, rolls back when it throws. When
    /// this returns, the changes are durable.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        guard !inTransaction else { throw SQLiteError.transaction("nested transaction") }
        try execute("BEGIN IMMEDIATE")
        inTransaction = true
        defer { inTransaction = false }
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
