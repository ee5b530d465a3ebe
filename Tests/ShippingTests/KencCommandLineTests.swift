import Foundation
import XCTest

/// kenc's conventions across subcommands, on the built binary: usage errors exit 2, the shared
/// options may come before the subcommand, every file is read the same way, a mistyped
/// subcommand gets a suggestion, and a reader that goes away ends kenc quietly.
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

    func testGlobalOptionsAreRefusedWhereTheyWouldBeIgnored() throws {
        let kenc = try kenc()
        let fmt = try Shell.run(kenc, ["--json", "fmt", "/dev/null"])
        XCTAssertEqual(fmt.status, 2)
        XCTAssertTrue(fmt.stderr.contains("fmt does not take --json"), fmt.stderr)
        let check = try Shell.run(kenc, ["check", "--agent-socket", "/x.sock", "/dev/null"])
        XCTAssertEqual(check.status, 2)
        XCTAssertTrue(check.stderr.contains("check does not take --agent-socket"), check.stderr)
    }

    func testMistypedSubcommandGetsASuggestion() throws {
        let kenc = try kenc()
        let result = try Shell.run(kenc, ["lsit"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("unknown subcommand 'lsit'; did you mean 'list'?"), result.stderr)
        let far = try Shell.run(kenc, ["--agent-socket", "/x.sock", "frobnicate"])
        XCTAssertEqual(far.status, 2)
        XCTAssertTrue(far.stderr.contains("unknown subcommand 'frobnicate'"), far.stderr)
        XCTAssertFalse(far.stderr.contains("did you mean"), far.stderr)
    }

    /// A missing file, a directory, a binary file and one the user may not read are reported
    /// the same way by every subcommand that reads a file: `cannot read FILE: reason`, exit 2,
    /// nothing on standard output.
    func testEveryFileReadingCommandReportsAnUnreadableFileTheSameWay() throws {
        let kenc = try kenc()
        let dir = try Shell.temporaryDirectory("kenc-files")
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("binary.bt")
        var bytes = [UInt8](repeating: 0, count: 200_000)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 31) }
        try Data(bytes).write(to: binary)
        let missing = dir.appendingPathComponent("missing.bt").path
        let noSocket = "/nonexistent-\(getpid()).sock"
        let commands: [(String, (String) -> [String])] = [
            ("check", { ["check", $0] }),
            ("check --json", { ["check", "--json", "--no-kernel", $0] }),
            ("fmt", { ["fmt", $0] }),
            ("verify", { ["verify", $0] }),
            ("attach", { ["attach", $0, "--agent-socket", noSocket] }),
            ("examples add", { ["examples", "add", "--prompt", "p", $0, "--kend-socket", noSocket] }),
        ]
        let cases: [(String, String)] = [
            (missing, "no such file or directory"),
            (dir.path, "is a directory"),
            (binary.path, "not a text file (binary data)"),
        ]
        for (name, arguments) in commands {
            for (file, reason) in cases {
                // attach accepts a BPF object, but this file is neither ELF nor text.
                let result = try Shell.run(kenc, arguments(file))
                XCTAssertEqual(result.status, 2, "\(name) \(file): \(result.stderr)")
                XCTAssertEqual(result.stderr, "kenc: error: cannot read \(file): \(reason)\n" + (name == "attach" && reason.hasPrefix("not a text")
                    ? "hint: give a .bt script or a compiled .o BPF object\n" : ""), name)
                XCTAssertEqual(result.stdout, "", name)
            }
        }
        // Unreadable: as an unprivileged user, a file only root may read.
        let setpriv = try Shell.require("setpriv", package: "util-linux")
        let secret = dir.appendingPathComponent("secret.bt")
        try "BEGIN { exit(); }\n".write(to: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        guard getuid() == 0 else { throw XCTSkip("needs root to run kenc as another user") }
        let denied = try Shell.run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", kenc, "check", secret.path])
        XCTAssertEqual(denied.status, 2, denied.stderr)
        XCTAssertEqual(denied.stderr, "kenc: error: cannot read \(secret.path): permission denied\n")
    }

    /// `kenc … | head -1`: the reader goes away after one line; kenc ends with status 0 and
    /// says nothing (no SIGPIPE death, no trap on EPIPE).
    func testBrokenPipeEndsKencQuietly() throws {
        let kenc = try kenc()
        let bash = try Shell.require("bash", package: "bash")
        let dir = try Shell.temporaryDirectory("kenc-pipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        // About 300 KB of formatted output: far more than a pipe holds, so writes after head exits
        // must fail with EPIPE.
        let program = (0..<5_000).map { "kprobe:f\($0) { printf(\"line %d\\n\", \($0)); }" }.joined(separator: "\n") + "\n"
        let file = dir.appendingPathComponent("big.bt")
        try program.write(to: file, atomically: true, encoding: .utf8)
        let result = try Shell.run(bash, ["-c", "\"$0\" fmt \"$1\" | head -1; echo \"kenc=${PIPESTATUS[0]}\" >&2", kenc, file.path])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "kprobe:f0\n")
        XCTAssertEqual(result.stderr, "kenc=0\n", "kenc ended quietly with 0, not by a signal (141) or a trap")
    }
}
