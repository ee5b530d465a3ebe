import Foundation

/// One result row, copied out of SQLite so it stays valid after the statement moves on.
public struct SQLiteRow: Sendable, Equatable {
    public let columns: [String]
    public let values: [SQLiteValue]

    public init(columns: [String], values: [SQLiteValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the named column.
    public func value(_ name: String) throws(SQLiteError) -> SQLiteValue {
        guard let index = columns.firstIndex(of: name) else {
            throw .column("no column named \(name) in \(columns)")
        }
        return values[index]
    }

    public func int64(_ name: String) throws(SQLiteError) -> Int64 {
        switch try value(name) {
        case let .integer(v): return v
        case let .real(v): return Int64(v)
        case .null: return 0
        case let other: throw .column("\(name) holds \(other), not an integer")
        }
    }

    public func optionalInt64(_ name: String) throws(SQLiteError) -> Int64? {
        if case .null = try value(name) { return nil }
        return try int64(name)
    }

    public func double(_ name: String) throws(SQLiteError) -> Double {
        switch try value(name) {
        case let .real(v): return v
        case let .integer(v): return Double(v)
        case .null: return 0
        case let other: throw .column("\(name) holds \(other), not a real")
        }
    }

    public func string(_ name: String) throws(SQLiteError) -> String {
        switch try value(name) {
        case let .text(v): return v
        case .null: return ""
        case let .integer(v): return String(v)
        case let .real(v): return String(v)
        case let .blob(v): return String(decoding: v, as: UTF8.self)
        }
    }

    public func optionalString(_ name: String) throws(SQLiteError) -> String? {
        if case .null = try value(name) { return nil }
        return try string(name)
    }

    public func bytes(_ name: String) throws(SQLiteError) -> [UInt8] {
        switch try value(name) {
        case let .blob(v): return v
        case let .text(v): return Array(v.utf8)
        case .null: return []
        case let other: throw .column("\(name) holds \(other), not a blob")
        }
    }

    public func data(_ name: String) throws(SQLiteError) -> Data { Data(try bytes(name)) }
}
