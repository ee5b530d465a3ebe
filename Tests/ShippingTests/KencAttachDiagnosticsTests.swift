import Foundation
import XCTest

/// `kenc attach` runs Ken's own front end and resolution on the user's file first: a misspelt
/// field is reported at `FILE:LINE:COL` with a did-you-mean, and the agent is never asked.
final class KencAttachDiagnosticsTests: XCTestCase {
    func testAttachReportsTheUsersFileBeforeAskingTheAgent() throws {
        guard let directory = Shell.builtProgramsDirectory() else {
            throw XCTSkip("the kenc binary is not built next to the tests")
        }
        let formats = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/run/ken/tracing"]
            .map { $0 + "/events/syscalls/sys_enter_openat/format" }
        guard formats.contains(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw XCTSkip("no readable format for syscalls:sys_enter_openat (tracefs is root-only; run as root)")
        }
        let work = try Shell.temporaryDirectory("attach-diagnostics")
        defer { try? FileManager.default.removeItem(at: work) }
        try "tracepoint:syscalls:sys_enter_openat\n{\n  printf(\"%s\\n\", str(args->filenme));\n}\n"
            .write(to: work.appendingPathComponent("wrong_field.bt"), atomically: true, encoding: .utf8)
        // An agent socket that does not exist: were the agent asked, kenc would exit 5.
        let result = try Shell.run(directory.appendingPathComponent("kenc").path,
                                   ["attach", "wrong_field.bt", "--agent-socket", work.appendingPathComponent("none.sock").path],
                                   directory: work)
        XCTAssertEqual(result.status, 1, "diagnostics exit 1, before any agent call:\n\(result.stderr)")
        XCTAssertTrue(result.stderr.contains("wrong_field.bt:3:28:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean 'filename'?"), result.stderr)
        XCTAssertTrue(result.stderr.contains("nothing was attached"), result.stderr)
        XCTAssertFalse(result.stderr.contains("/extensions/"), "no agent-side path: \(result.stderr)")
    }
}
