import Foundation
import KenClient
import XCTest

/// Reading input files, naming extensions, and suggestions for mistyped words.
final class InputAndNamesTests: XCTestCase {
    func testInputFileReasons() throws {
        let dir = NSTemporaryDirectory() + "ken-input-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "BEGIN { exit(); }\n".write(toFile: dir + "/ok.bt", atomically: true, encoding: .utf8)
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 1]).write(to: URL(fileURLWithPath: dir + "/x.o"))
        try Data([0xC3, 0x28]).write(to: URL(fileURLWithPath: dir + "/bad-utf8.bt"))

        XCTAssertEqual(try InputFile.readText(dir + "/ok.bt"), "BEGIN { exit(); }\n")
        XCTAssertEqual(try InputFile.read(dir + "/x.o", allowBinary: true).count, 6)
        let cases = [
            (dir + "/missing.bt", "no such file or directory"),
            (dir, "is a directory"),
            (dir + "/x.o", "not a text file (binary data)"),
            (dir + "/bad-utf8.bt", "not a text file (binary data)"),
            (dir + "/ok.bt/inside", "a component of the path is not a directory"),
        ]
        for (path, reason) in cases {
            XCTAssertThrowsError(try InputFile.readText(path), path) {
                let error = $0 as? ClientError
                XCTAssertEqual(error?.exit, .usage, path)
                XCTAssertEqual(error?.exit.status, 2, path)
                XCTAssertEqual(error?.message, "cannot read \(path): \(reason)")
            }
        }
    }

    func testExtensionReferences() {
        XCTAssertEqual(ExtensionReference("A1B2C3D4E5F6"), .id("a1b2c3d4e5f6"))
        XCTAssertEqual(ExtensionReference("a1b2c3d4e5f6"), .id("a1b2c3d4e5f6"))
        XCTAssertEqual(ExtensionReference("a1b2c3d4e5"), .name("a1b2c3d4e5"), "too short for an id")
        XCTAssertEqual(ExtensionReference("cat-opens"), .name("cat-opens"))
        XCTAssertEqual(ExtensionReference(positional: nil, name: "x"), .name("x"))
        XCTAssertNil(ExtensionReference(positional: nil, name: nil))
        XCTAssertNil(ExtensionReference(positional: "a", name: "b"))
    }

    func testSuggestions() {
        let commands = ["synth", "apply", "status", "list", "show", "logs", "detach", "attach", "agent-status"]
        XCTAssertEqual(Suggestion.closest(to: "lsit", in: commands), "list")
        XCTAssertEqual(Suggestion.closest(to: "detahc", in: commands), "detach")
        XCTAssertEqual(Suggestion.closest(to: "agent", in: commands), "agent-status")
        XCTAssertNil(Suggestion.closest(to: "frobnicate", in: commands))
    }

    func testExitStatusesAreDistinctWhereTheyMustBe() {
        XCTAssertEqual(KencExit.applied(changed: true, failed: true).status, 6)
        XCTAssertEqual(KencExit.applied(changed: false, failed: false).status, 0)
        XCTAssertEqual(KencExit.manifestsUnreadable.status, 1, "2 means changed to apply's callers")
        XCTAssertEqual([KencExit.success, .failure, .usage, .notFound, .permissionDenied, .unreachable].map(\.status), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual([KencExit.violated, .undecided, .doesNotResolve].map(\.status), [1, 2, 3])
    }
}
