import Foundation
import NativeABI
import Registry
import SQLite
import XCTest

/// The backend columns and the native artifact (schema 4): a version-3 database keeps its rows,
/// and what is stored comes back byte for byte after a reopen.
final class NativeArtifactRegistryTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ken-registry-native-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testVersion3DatabaseIsMigratedAndArtifactsRoundTrip() throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let db = try SQLiteDatabaseOpener.open(dir + "/registry.db")
            for version in 0..<3 { try db.executeScript(Registry.migrationsForTests[version]) }
            try db.setUserVersion(3)
            try db.execute("""
                INSERT INTO extensions (id, name, owner_uid, kind, program_text, state, created_unix_ms, changed_unix_ms, verdict)
                VALUES ('0123456789ab', 'old', 1000, 'bpftrace', 'BEGIN { exit(); }', 'attached', 1, 1, 'checked')
                """, [])
            db.close()
        }
        let registry = try Registry(stateDirectory: dir)
        let old = try XCTUnwrap(try registry.get(id: "0123456789ab"))
        XCTAssertEqual(old.programText, "BEGIN { exit(); }")
        XCTAssertEqual(old.verdict, .checked)
        XCTAssertEqual(old.backend, ExtensionBackend.none)
        XCTAssertTrue(old.runsOnBpftrace, "a script recorded before backends ran on bpftrace")
        XCTAssertEqual(old.proto().backend, .unspecified)
        XCTAssertNil(try registry.nativeArtifact(id: "0123456789ab"))

        var record = ExtensionRecord(id: try registry.newID(), name: "native", ownerUID: 0, kind: .bpftrace,
                                     programText: "tracepoint:syscalls:sys_enter_openat { @ = count(); }",
                                     backend: .native)
        try registry.insert(record)
        let plan = NativePlan(probes: [NativeProbe(programName: "p0", attachPoint: "tracepoint:syscalls:sys_enter_openat", attach: .section)],
                              maps: [NativeMap(name: "", bpfName: "m0", keyFields: [], keySize: 8, value: .count, valueSize: 8, perCPU: true)],
                              events: [.printf(format: "%d\n", arguments: [NativeField(offset: 8, type: .integer(bits: 64, signed: true))])])
        let artifact = NativeArtifact(cSource: "/* generated */\nint x;\n", object: [0x7F, 0x45, 0x4C, 0x46, 0, 1, 2, 255],
                                      plan: plan, kernelRelease: "6.1.0-test")
        try registry.setNativeArtifact(id: record.id, artifact)
        var fallback = ExtensionRecord(id: try registry.newID(), name: "fallback", ownerUID: 0, kind: .bpftrace,
                                       programText: "kprobe:vfs_read { printf(\"%s\\n\", ustack); }",
                                       backend: .bpftrace, backendReason: "ustack")
        try registry.insert(fallback)
        XCTAssertThrowsError(try registry.setNativeArtifact(id: "ffffffffffff", artifact))
        registry.close()

        let reopened = try Registry(stateDirectory: dir)
        XCTAssertEqual(try reopened.nativeArtifact(id: record.id), artifact)
        record = try XCTUnwrap(try reopened.get(id: record.id, withObject: false))
        XCTAssertEqual(record.backend, .native)
        XCTAssertFalse(record.runsOnBpftrace)
        XCTAssertEqual(record.proto().backend, .native)
        fallback = try XCTUnwrap(try reopened.list().first { $0.id == fallback.id })
        XCTAssertEqual(fallback.backend, .bpftrace)
        XCTAssertEqual(fallback.backendReason, "ustack")
        XCTAssertEqual(fallback.proto().backendReason, "ustack")
        XCTAssertEqual(ExtensionRecord(proto: fallback.proto()), fallback)
        // An update keeps the backend and the artifact.
        let modified = try reopened.modify(id: record.id) { $0.state = .detached }
        XCTAssertEqual(modified.backend, .native)
        XCTAssertEqual(try reopened.nativeArtifact(id: record.id), artifact)
        // A corrupt plan is an error, never a silent nil.
        reopened.close()
        let db = try SQLiteDatabaseOpener.open(dir + "/registry.db")
        try db.execute("UPDATE extensions SET native_plan='{' WHERE id=?", [record.id])
        db.close()
        let third = try Registry(stateDirectory: dir)
        XCTAssertThrowsError(try third.nativeArtifact(id: record.id))
    }
}
