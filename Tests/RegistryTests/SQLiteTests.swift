import Foundation
import SQLite
import XCTest

final class SQLiteTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ken-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testTypedBindsRoundTrip() throws {
        let db = try SQLiteDatabase(path: dir + "/t.db")
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let blob: [UInt8] = [0, 1, 2, 255, 0]
        try db.execute("INSERT INTO t VALUES (?,?,?,?,?)", [Int64.min, 2.5, "héllo 'quoted'", blob, SQLiteValue.null])
        try db.execute("INSERT INTO t VALUES (?,?,?,?,?)", [Int64.max, -0.0, "", [UInt8](), Optional<String>.none])
        let rows = try db.query("SELECT * FROM t ORDER BY rowid")
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(try rows[0].int64("i"), Int64.min)
        XCTAssertEqual(try rows[0].double("r"), 2.5)
        XCTAssertEqual(try rows[0].string("s"), "héllo 'quoted'")
        XCTAssertEqual(try rows[0].bytes("b"), blob)
        XCTAssertEqual(try rows[0].value("n"), .null)
        XCTAssertNil(try rows[0].optionalString("n"))
        XCTAssertEqual(try rows[1].int64("i"), Int64.max)
        XCTAssertEqual(try rows[1].value("b"), .blob([]))
        XCTAssertThrowsError(try rows[0].value("nope"))
        XCTAssertThrowsError(try rows[0].int64("s"))
    }

    func testWALAndSynchronousFull() throws {
        let db = try SQLiteDatabase(path: dir + "/w.db")
        XCTAssertEqual(try db.query("PRAGMA journal_mode").first?.string("journal_mode"), "wal")
        // 2 = FULL
        XCTAssertEqual(try db.query("PRAGMA synchronous").first?.int64("synchronous"), 2)
    }

    func testErrorsCarrySQLiteMessage() throws {
        let db = try SQLiteDatabase(path: dir + "/e.db")
        XCTAssertThrowsError(try db.execute("SELEKT 1")) { error in
            guard case let SQLiteError.prepare(_, _, message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("syntax error"), message)
        }
        try db.execute("CREATE TABLE u (x TEXT UNIQUE)")
        try db.execute("INSERT INTO u VALUES ('a')")
        XCTAssertThrowsError(try db.execute("INSERT INTO u VALUES ('a')")) { error in
            XCTAssertTrue((error as? SQLiteError)?.isConstraintViolation == true, "\(error)")
            XCTAssertTrue("\(error)".contains("UNIQUE"), "\(error)")
        }
        XCTAssertThrowsError(try SQLiteDatabase(path: dir + "/no/such/dir/x.db"))
    }

    func testTransactionRollsBackOnError() throws {
        let db = try SQLiteDatabase(path: dir + "/tx.db")
        try db.execute("CREATE TABLE t (x INTEGER)")
        struct Boom: Error {}
        XCTAssertThrowsError(try db.transaction {
            try db.execute("INSERT INTO t VALUES (1)")
            throw Boom()
        })
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM t").first?.int64("n"), 0)
        try db.transaction { try db.execute("INSERT INTO t VALUES (2)") }
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM t").first?.int64("n"), 1)
        XCTAssertThrowsError(try db.transaction { try db.transaction {} })
    }

    func testPreparedStatementReuse() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        try db.execute("CREATE TABLE t (x INTEGER)")
        let insert = try db.prepare("INSERT INTO t VALUES (?)")
        for i in 0..<100 {
            try insert.bind([i])
            XCTAssertNil(try insert.step())
        }
        XCTAssertEqual(try db.query("SELECT SUM(x) AS s FROM t").first?.int64("s"), 4950)
        XCTAssertThrowsError(try insert.bind([1, 2]))  // parameter 2 does not exist
    }

    func testClosedDatabaseThrows() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        db.close()
        XCTAssertThrowsError(try db.query("SELECT 1"))
        db.close()
    }
}
