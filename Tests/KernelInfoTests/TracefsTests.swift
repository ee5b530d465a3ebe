import Foundation
import XCTest
@testable import KernelInfo

/// Checks parsed tracepoint formats against the raw `format` files, read here with an
/// independent, deliberately simple splitter.
final class TracefsTests: XCTestCase {
    func testSampledFormatsMatchRawFiles() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        let all = tracefs.allTracepoints
        XCTAssertGreaterThan(all.count, 100)
        var checked = 0
        for (i, full) in all.enumerated() where i % 15 == 0 {
            let parts = full.split(separator: ":", maxSplits: 1).map(String.init)
            let format = try tracefs.format(category: parts[0], name: parts[1])
            let text = try String(contentsOfFile: "\(tracefs.root)/events/\(parts[0])/\(parts[1])/format", encoding: .utf8)
            let rawFields = text.components(separatedBy: "\n").filter { $0.contains("field:") }
            XCTAssertEqual(format.fields.count + format.commonFields.count, rawFields.count, full)
            for (field, line) in zip(format.commonFields + format.fields, rawFields) {
                XCTAssertTrue(line.contains("offset:\(field.offset);"), "\(full): \(line) vs \(field)")
                XCTAssertTrue(line.contains("size:\(field.size);"), "\(full): \(line)")
                XCTAssertTrue(line.contains("signed:\(field.isSigned ? 1 : 0);"), "\(full): \(line)")
                XCTAssertTrue(line.contains(" \(field.name);") || line.contains(" \(field.name)["), "\(full): \(line) name \(field.name)")
            }
            XCTAssertTrue(format.commonFields.allSatisfy { $0.name.hasPrefix("common_") })
            checked += 1
        }
        XCTAssertGreaterThan(checked, 50)
    }

    func testOpenatFilenameIsUserCharPointer() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        let format = try tracefs.format(category: "syscalls", name: "sys_enter_openat")
        XCTAssertEqual(format.fields.map(\.name), ["__syscall_nr", "dfd", "filename", "flags", "mode"])
        let filename = try XCTUnwrap(format.field(named: "filename"))
        XCTAssertTrue(filename.isUserPointer)
        XCTAssertEqual(filename.typeText, "const char *")
        guard case let .pointer(pointee) = filename.type else { return XCTFail("not a pointer: \(filename.type)") }
        XCTAssertTrue(pointee.isCharacter)
        // `int dfd` sits in an 8-byte slot: widened, sign kept.
        XCTAssertEqual(format.field(named: "dfd")?.type.resolved, .integer(CInteger(name: "int", bits: 64, signed: true)))
        // As bpftrace 0.17 types them: umode_t keeps its own width, pid_t follows the slot.
        XCTAssertEqual(format.field(named: "mode")?.type.typedefName, "umode_t")
        XCTAssertEqual(format.field(named: "mode")?.type.byteSize, 2)
        let kill = try tracefs.format(category: "syscalls", name: "sys_enter_kill")
        XCTAssertEqual(kill.field(named: "pid")?.type.typedefName, "pid_t")
        XCTAssertEqual(kill.field(named: "pid")?.type.resolved, .integer(CInteger(name: "int", bits: 64, signed: false)))
        XCTAssertEqual(kill.field(named: "sig")?.type.resolved, .integer(CInteger(name: "int", bits: 64, signed: true)))
    }

    func testSchedSwitchCommIsStringAndNotUser() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        let format = try tracefs.format(category: "sched", name: "sched_switch")
        let comm = try XCTUnwrap(format.field(named: "prev_comm"))
        XCTAssertTrue(comm.isString)
        XCTAssertEqual(comm.arrayCount, 16)
        XCTAssertFalse(comm.isUserPointer)
        XCTAssertNil(format.field(named: "common_pid"), "common fields are hidden from args")
    }

    func testDataLocField() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        // sched_process_exec has `__data_loc char[] filename`.
        let format = try tracefs.format(category: "sched", name: "sched_process_exec")
        let filename = try XCTUnwrap(format.field(named: "filename"))
        XCTAssertTrue(filename.isDynamicArray)
        XCTAssertTrue(filename.isString)
        XCTAssertEqual(filename.size, 4)
    }

    /// A tracefs laid out in a temporary directory: the second root is used when the first
    /// is missing, and formats are parsed from it. Runs on any machine.
    func testFallbackRootWithFakeTracefs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ken-tracefs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let eventDir = dir.appendingPathComponent("events/demo/demo_event")
        try FileManager.default.createDirectory(at: eventDir, withIntermediateDirectories: true)
        try "demo:demo_event\ndemo:other\n".write(to: dir.appendingPathComponent("available_events"), atomically: true, encoding: .utf8)
        let format = """
        name: demo_event
        ID: 42
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

        \tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
        \tfield:__data_loc char[] path;\toffset:24;\tsize:4;\tsigned:0;
        \tfield:const void * ptr;\toffset:32;\tsize:8;\tsigned:0;
        \tfield:mystery_t value;\toffset:40;\tsize:4;\tsigned:1;

        print fmt: "%s", REC->comm
        """
        try format.write(to: eventDir.appendingPathComponent("format"), atomically: true, encoding: .utf8)
        let tracefs = try Tracefs(roots: ["/nonexistent/ken/tracing", dir.path], btf: nil)
        XCTAssertEqual(tracefs.root, dir.path)
        XCTAssertEqual(tracefs.events["demo"], ["demo_event", "other"])
        XCTAssertFalse(tracefs.kprobesAvailable)
        let parsed = try tracefs.format(category: "demo", name: "demo_event")
        XCTAssertEqual(parsed.id, 42)
        XCTAssertEqual(parsed.commonFields.map(\.name), ["common_type", "common_pid"])
        XCTAssertEqual(parsed.fields.map(\.name), ["comm", "path", "ptr", "value"])
        XCTAssertTrue(parsed.fields[0].isString)
        XCTAssertTrue(parsed.fields[1].isDynamicArray)
        XCTAssertEqual(parsed.fields[2].type, .pointer(.void))
        XCTAssertFalse(parsed.fields[2].isUserPointer, "only syscall entry pointers are user pointers")
        XCTAssertEqual(parsed.fields[3].type, .typedef(name: "mystery_t", .integer(CInteger(name: "mystery_t", bits: 32, signed: true))))
        // Listed but without a format directory: unreadable, not a crash.
        XCTAssertThrowsError(try tracefs.format(category: "demo", name: "other"))
        XCTAssertThrowsError(try Tracefs(roots: ["/nonexistent/a", "/nonexistent/b"])) { error in
            XCTAssertEqual(error as? KernelInfoError, .tracefsUnavailable)
        }
    }

    func testParserRejectsGarbage() {
        XCTAssertThrowsError(try TracepointFormatParser.parse("hello", category: "a", name: "b"))
        XCTAssertThrowsError(try TracepointFormatParser.parse("format:\n\tfield:int;\toffset:x;", category: "a", name: "b"))
    }

    func testUnknownTracepointThrows() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        XCTAssertThrowsError(try tracefs.format(category: "syscalls", name: "sys_enter_nope")) { error in
            XCTAssertEqual(error as? KernelInfoError, .noSuchTracepoint(category: "syscalls", name: "sys_enter_nope"))
        }
    }
}
