import Digest
import Foundation
import KenProto
import Registry
import XCTest

final class RegistryTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ken-registry-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func sample(_ registry: Registry, name: String = "opens", kind: ExtensionKind = .bpftrace) throws -> ExtensionRecord {
        ExtensionRecord(
            id: try registry.newID(), name: name, ownerUID: 1000, kind: kind,
            programText: kind == .bpftrace ? "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }" : "",
            object: kind == .bpfObject ? [0x7f, 0x45, 0x4c, 0x46, 1, 2, 3] : [],
            prompt: "count opens", probes: ["tracepoint:syscalls:sys_enter_openat"], restartPolicy: .onFailure)
    }


    func testInsertGetUpdateListAndSchemaVersion() throws {
        let registry = try Registry(stateDirectory: dir)
        var record = try sample(registry)
        XCTAssertEqual(record.id.count, 12)
        XCTAssertTrue(record.id.allSatisfy { $0.isHexDigit })
        try registry.insert(record)
        XCTAssertEqual(try registry.get(id: record.id), record)
        XCTAssertEqual(try registry.get(name: "opens")?.id, record.id)

        record.state = .attached
        record.progIDs = [41, 42]
        record.linkIDs = [7]
        record.pid = 4242
        let updated = try registry.update(record)
        XCTAssertGreaterThanOrEqual(updated.changedUnixMs, record.createdUnixMs)
        let read = try XCTUnwrap(registry.get(id: record.id))
        XCTAssertEqual(read.progIDs, [41, 42])
        XCTAssertEqual(read.linkIDs, [7])
        XCTAssertEqual(read.state, .attached)
        XCTAssertEqual(read.restartPolicy, .onFailure)
        XCTAssertEqual(try registry.counts()[.attached], 1)
        XCTAssertEqual(try registry.liveCount(ownerUID: 1000), 1)
        XCTAssertEqual(try registry.liveCount(ownerUID: 0), 0)

        let modified = try registry.modify(id: record.id) { $0.state = .failed; $0.lastError = "bpftrace exited 1" }
        XCTAssertEqual(modified.lastError, "bpftrace exited 1")
        XCTAssertThrowsError(try registry.modify(id: "000000000000") { _ in }) {
            XCTAssertEqual($0 as? RegistryError, .notFound("000000000000"))
        }
        XCTAssertNil(try registry.get(id: "nope"))
        XCTAssertEqual(try registry.list().map(\.id), [record.id])
    }

    func testNameUniqueAmongLiveOnly() throws {
        let registry = try Registry(stateDirectory: dir)
        let first = try sample(registry)
        try registry.insert(first)
        XCTAssertThrowsError(try registry.insert(try sample(registry))) {
            XCTAssertEqual($0 as? RegistryError, .nameInUse("opens"))
        }
        try registry.modify(id: first.id) { $0.state = .detached }
        let second = try sample(registry)
        try registry.insert(second)  // the name is free again once the first is detached
        XCTAssertEqual(try registry.get(name: "opens")?.id, second.id)
        XCTAssertEqual(try registry.list().count, 1)
        XCTAssertEqual(try registry.list(includeDetached: true).count, 2)
        XCTAssertThrowsError(try registry.insert(second)) { XCTAssertEqual($0 as? RegistryError, .idInUse(second.id)) }
    }

    func testObjectBytesAndDigest() throws {
        let registry = try Registry(stateDirectory: dir)
        let record = try sample(registry, name: "obj", kind: .bpfObject)
        try registry.insert(record)
        XCTAssertEqual(record.objectSHA256, SHA256.hex(record.object))
        XCTAssertEqual(try registry.get(id: record.id)?.object, record.object)
        XCTAssertEqual(try registry.list().first?.object, [], "listings do not carry object bytes")
        XCTAssertEqual(try registry.list().first?.objectSHA256, record.objectSHA256)
    }

    func testProtoConversion() throws {
        let registry = try Registry(stateDirectory: dir)
        var record = try sample(registry)
        record.state = .attached
        record.progIDs = [9]
        let proto = record.proto(memlockBytes: 4096)
        XCTAssertEqual(proto.id, record.id)
        XCTAssertEqual(proto.kind, .bpftrace)
        XCTAssertEqual(proto.state, .attached)
        XCTAssertEqual(proto.memlockBytes, 4096)
        XCTAssertEqual(proto.restartPolicy, "on-failure")
        let back = try XCTUnwrap(ExtensionRecord(proto: proto))
        XCTAssertEqual(back, record)
        var bad = proto
        bad.kind = .unspecified
        XCTAssertNil(ExtensionRecord(proto: bad))
    }

    func testVerdictRoundTripsAndAVersion2DatabaseIsMigrated() throws {
        // A registry written by the previous schema (2) gains the verdict columns, empty.
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let db = try SQLiteDatabaseOpener.open(dir + "/registry.db")
            for version in 0..<2 {
                try db.executeScript(Registry.migrationsForTests[version])
            }
            try db.setUserVersion(2)
            try db.execute("""
                INSERT INTO extensions (id, name, owner_uid, kind, state, created_unix_ms, changed_unix_ms)
                VALUES ('0123456789ab', 'old', 1000, 'bpftrace', 'attached', 1, 1)
                """, [])
            db.close()
        }
        let registry = try Registry(stateDirectory: dir)
        let old = try XCTUnwrap(try registry.get(id: "0123456789ab"))
        XCTAssertEqual(old.verdict, ProofVerdict.none)
        XCTAssertEqual(old.proto().verdict, .unspecified)

        var record = try sample(registry)
        record.verdict = .proven
        record.provenAsserts = [ProvenClaim(text: "assert(comm == \"vim\")", line: 3, column: 5, claimedBy: "prompt")]
        try registry.insert(record)
        var checked = try sample(registry, name: "checked")
        checked.verdict = .checked
        checked.unprovenReason = "the program has no assert tied to the request"
        try registry.insert(checked)
        registry.close()

        let reopened = try Registry(stateDirectory: dir)
        let back = try XCTUnwrap(try reopened.get(id: record.id))
        XCTAssertEqual(back.verdict, .proven)
        XCTAssertEqual(back.provenAsserts, record.provenAsserts)
        XCTAssertEqual(back.proto().provenAsserts.first?.claimedBy, .prompt)
        XCTAssertEqual(ExtensionRecord(proto: back.proto())?.provenAsserts, record.provenAsserts)
        let backChecked = try XCTUnwrap(try reopened.list().first { $0.id == checked.id })
        XCTAssertEqual(backChecked.verdict, .checked)
        XCTAssertEqual(backChecked.unprovenReason, checked.unprovenReason)
        XCTAssertEqual(backChecked.proto().verdict, .checked)
    }

    func testReopenKeepsRecordsAndRefusesNewerSchema() throws {
        var ids: [String] = []
        do {
            let registry = try Registry(stateDirectory: dir)
            for i in 0..<5 {
                let r = try sample(registry, name: "e\(i)")
                try registry.insert(r)
                ids.append(r.id)
            }
            registry.close()
        }
        let reopened = try Registry(stateDirectory: dir)
        XCTAssertEqual(Set(try reopened.list().map(\.id)), Set(ids))
        reopened.close()

        // A database from a future agent is refused, not silently misread.
        let db = try SQLiteDatabaseOpener.open(dir + "/registry.db")
        try db.setUserVersion(Registry.schemaVersion + 1)
        db.close()
        XCTAssertThrowsError(try Registry(stateDirectory: dir)) {
            XCTAssertEqual($0 as? RegistryError, .schemaTooNew(found: Registry.schemaVersion + 1, supported: Registry.schemaVersion))
        }
    }

    /// Runs only inside the child process of `testSIGKILLLosesNoCommittedRecord`: inserts records
    /// one by one, printing each id after its insert returned, until killed.
    func testChildWriterProcess() throws {
        guard let childDir = ProcessInfo.processInfo.environment["KEN_REGISTRY_CHILD_DIR"] else {
            throw XCTSkip("only runs as the child of testSIGKILLLosesNoCommittedRecord")
        }
        let registry = try Registry(stateDirectory: childDir)
        var i = 0
        while true {
            let record = try sample(registry, name: "child-\(i)")
            try registry.insert(record)
            FileHandle.standardOutput.write(Data("COMMITTED \(record.id)\n".utf8))
            i += 1
        }
    }

    /// Kills a writer with SIGKILL mid-stream and checks that every record it reported as committed
    /// is in the database when reopened.
    func testSIGKILLLosesNoCommittedRecord() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0])
        guard executable.path.hasSuffix(".xctest") else { throw XCTSkip("cannot re-run the test bundle: \(executable.path)") }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let child = Process()
        child.executableURL = executable
        child.arguments = ["RegistryTests.RegistryTests/testChildWriterProcess"]
        child.environment = ProcessInfo.processInfo.environment.merging(["KEN_REGISTRY_CHILD_DIR": dir]) { $1 }
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = FileHandle.nullDevice
        try child.run()
        var output = ""
        let deadline = Date().addingTimeInterval(20)
        while output.components(separatedBy: "COMMITTED ").count <= 30, Date() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += String(decoding: chunk, as: UTF8.self)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        output += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let committed = output.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("COMMITTED ") ? String(line.dropFirst("COMMITTED ".count)) : nil
        }
        XCTAssertGreaterThanOrEqual(committed.count, 30, "the child wrote too little: \(output.suffix(300))")
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        let registry = try Registry(stateDirectory: dir)
        let stored = Set(try registry.list().map(\.id))
        for id in committed { XCTAssertTrue(stored.contains(id), "committed record \(id) lost after SIGKILL") }
    }

    func testListLatencyWithThousandRecords() throws {
        let registry = try Registry(stateDirectory: dir)
        for i in 0..<1000 {
            var r = try sample(registry, name: "x\(i)")
            r.state = i % 3 == 0 ? .detached : .attached
            try registry.insert(r)
        }
        let start = Date()
        let all = try registry.list(includeDetached: true)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(all.count, 1000)
        print("registry.list of 1000 records: \(String(format: "%.2f", elapsed * 1000)) ms")
        XCTAssertLessThan(elapsed, 1.0)
    }
}

import SQLite

/// Opens the raw database file, for tests that tamper with it.
enum SQLiteDatabaseOpener {
    static func open(_ path: String) throws -> SQLiteDatabase { try SQLiteDatabase(path: path) }
}
