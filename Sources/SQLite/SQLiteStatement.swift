import CSQLite
import Foundation

/// SQLite's "copy the bytes now" destructor marker (SQLITE_TRANSIENT), which C defines as a cast
/// of -1 that Swift cannot import.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement. Bind values, then `step()` until it returns nil; `reset()` to reuse.
/// Shares its database's lock so it may be used from any task.
public final class SQLiteStatement: @unchecked Sendable {
    private let database: SQLiteDatabase
    /// Guarded by the database's lock.
    private var handle: OpaquePointer?
    public let sql: String
    private var columnNames: [String]?

    init(database: SQLiteDatabase, sql: String) throws(SQLiteError) {
        self.database = database
        self.sql = sql
        handle = try database.withHandle { (db) throws(SQLiteError) -> OpaquePointer? in
            var statement: OpaquePointer?
            let rc = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
            guard rc == SQLITE_OK else {
                throw .prepare(sql: sql, code: rc, message: database.errorMessage(db))
            }
            return statement
        }
    }

    deinit {
        if let handle { sqlite3_finalize(handle) }
    }

    /// Binds `values` to parameters 1...n, after clearing earlier bindings and resetting.
    public func bind(_ values: [any SQLiteBindable]) throws(SQLiteError) {
        try database.withHandle { (db) throws(SQLiteError) in
            guard let handle else { return }
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            for (offset, value) in values.enumerated() {
                let index = Int32(offset + 1)
                let rc: Int32
                switch value.sqliteValue {
                case let .integer(v): rc = sqlite3_bind_int64(handle, index, v)
                case let .real(v): rc = sqlite3_bind_double(handle, index, v)
                case let .text(v): rc = sqlite3_bind_text(handle, index, v, -1, transient)
                case let .blob(v):
                    rc = v.withUnsafeBytes { buffer in
                        // An empty blob still binds as a zero-length blob, not NULL.
                        sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(v.count), transient)
                    }
                case .null: rc = sqlite3_bind_null(handle, index)
                }
                guard rc == SQLITE_OK else { throw .bind(index: index, code: rc, message: database.errorMessage(db)) }
            }
        }
    }

    /// Runs to the next row; nil when done.
    public func step() throws(SQLiteError) -> SQLiteRow? {
        try database.withHandle { (db) throws(SQLiteError) -> SQLiteRow? in
            guard let handle else { return nil }
            let rc = sqlite3_step(handle)
            switch rc {
            case SQLITE_ROW:
                return readRow(handle)
            case SQLITE_DONE:
                return nil
            default:
                let message = database.errorMessage(db)
                sqlite3_reset(handle)
                throw .step(sql: sql, code: rc, message: message)
            }
        }
    }

    /// Makes the statement ready to run again with the same or new bindings.
    public func reset() {
        try? database.withHandle { _ in if let handle { sqlite3_reset(handle) } }
    }

    private func readRow(_ handle: OpaquePointer) -> SQLiteRow {
        let count = sqlite3_column_count(handle)
        let names: [String]
        if let columnNames { names = columnNames } else {
            names = (0..<count).map { sqlite3_column_name(handle, $0).map { String(cString: $0) } ?? "" }
            columnNames = names
        }
        var values: [SQLiteValue] = []
        values.reserveCapacity(Int(count))
        for i in 0..<count {
            switch sqlite3_column_type(handle, i) {
            case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(handle, i)))
            case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(handle, i)))
            case SQLITE_TEXT:
                if let text = sqlite3_column_text(handle, i) {
                    values.append(.text(String(cString: text)))
                } else {
                    values.append(.text(""))
                }
            case SQLITE_BLOB:
                let length = Int(sqlite3_column_bytes(handle, i))
                if let bytes = sqlite3_column_blob(handle, i), length > 0 {
                    values.append(.blob([UInt8](UnsafeRawBufferPointer(start: bytes, count: length))))
                } else {
                    values.append(.blob([]))
                }
            default: values.append(.null)
            }
        }
        return SQLiteRow(columns: names, values: values)
    }
}
