import Foundation
import XCTest

/// kenc's conventions across subcommands, on the built binary: usage errors exit 2, and the
/// global options may come before the subcommand.
final class KencCommandLineTests: XCTestCase {
    func kenc() throws -> String {
        guard let directory = Shell.builtProgramsDirectory(),
              FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("kenc").path) else {
            throw XCTSkip("the kenc binary is not built next to the tests")
        }
        return directory.appendingPathComponent("kenc").path
    }

    func testUsageErrorsExit2() throws {
        let kenc = try kenc()
        XCTAssertEqual(try Shell.run(kenc, ["--no-such-option"]).status, 2)
        XCTAssertEqual(try Shell.run(kenc, ["show"]).status, 2, "show needs an id or --name")
    }

    func testGlobalOptionsBeforeTheSubcommand() throws {
        let kenc = try kenc()
        let script = try Shell.temporaryDirectory("kenc-global").appendingPathComponent("empty.bt")
        try "BEGIN { printf(\"hi\\n\"); exit(); }\n".write(to: script, atomically: true, encoding: .utf8)
        let checked = try Shell.run(kenc, ["--json", "check", "--no-kernel", script.path])
        XCTAssertEqual(checked.status, 0, checked.stderr)
        XCTAssertTrue(checked.stdout.hasPrefix("{"), "JSON out: \(checked.stdout)")
        let missing = "/nonexistent-\(getpid()).sock"
        let list = try Shell.run(kenc, ["--agent-socket", missing, "list"])
        XCTAssertEqual(list.status, 5, "an unreachable agent exits 5")
        XCTAssertTrue(list.stderr.contains(missing), list.stderr)
        let search = try Shell.run(kenc, ["--kend-socket=\(missing)", "examples", "search", "opens"])
        XCTAssertEqual(search.status, 5, search.stderr)
    }
}
