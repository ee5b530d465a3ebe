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
        XCTAssertEqual(format.field(named: "mode")?.type.typedefName, "umode_t")
        XCTAssertEqual(format.field(named: "mode")?.type.byteSize, 8)
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
