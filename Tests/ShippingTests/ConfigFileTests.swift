import Foundation
import XCTest

/// The configuration files the package installs, and the examples in ken.toml(5), are accepted
/// by the real programs: a commented default that the agent would refuse once uncommented is a
/// trap for the admin who edits it.
final class ConfigFileTests: XCTestCase {
    /// The shipped /etc/ken/agent.toml with every key uncommented, and the policy example of
    /// ken.toml(5), each start a real ken-agent; a file with an unknown key makes it refuse.
    func testShippedAndDocumentedPoliciesAreAcceptedByTheAgent() throws {
        guard geteuid() == 0 else { throw XCTSkip("ken-agent must run as root") }
        guard let bin = Shell.builtProgramsDirectory() else {
            throw XCTSkip("ken-agent is not built (run swift build, or set KEN_BIN_DIR)")
        }
        let work = try Shell.temporaryDirectory("policy")
        defer { try? FileManager.default.removeItem(at: work) }

        let shipped = try String(contentsOf: Shell.repository.appendingPathComponent("packaging/etc/agent.toml"), encoding: .utf8)
        let uncommented = shipped.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            // "#[section]" and "#key = value" are settings; "# text" is prose.
            if line.hasPrefix("#"), let next = line.dropFirst().first, next == "[" || next.isLetter {
                return String(line.dropFirst())
            }
            return String(line)
        }.joined(separator: "\n")
        XCTAssertTrue(uncommented.contains("\ndetach_on_stop = false"), "every documented key is uncommented")

        let manual = try String(contentsOf: Shell.repository.appendingPathComponent("man/ken.toml.5"), encoding: .utf8)
        let example = try XCTUnwrap(Self.exampleBlock(in: manual, startingWith: "# /etc/ken/agent.toml"))

        for (label, text) in [("shipped agent.toml, uncommented", uncommented), ("ken.toml(5) example", example)] {
            let outcome = try startAgent(bin: bin, policy: text, work: work.appendingPathComponent(UUID().uuidString))
            XCTAssertTrue(outcome.served, "\(label) is accepted by ken-agent: \(outcome.log)")
        }
        let refused = try startAgent(bin: bin, policy: "[limits]\nextensions_per_uid = 4\nbogus = 1\n",
                                     work: work.appendingPathComponent("bad"))
        XCTAssertFalse(refused.served)
        XCTAssertTrue(refused.log.contains("unknown key limits.bogus"), refused.log)
    }

    /// The shipped example manifest (once copied to a .toml name, as its comment says) and the
    /// manifest examples of ken.toml(5) are read by `kenc apply`: with kend unreachable it gets
    /// past reading them and exits 5; an invalid manifest exits 1.
    func testExampleManifestsAreReadByKencApply() throws {
        guard let bin = Shell.builtProgramsDirectory() else {
            throw XCTSkip("kenc is not built (run swift build, or set KEN_BIN_DIR)")
        }
        let kenc = bin.appendingPathComponent("kenc").path
        guard try Shell.run(kenc, ["apply", "--help"]).stdout.contains("USAGE: kenc apply") else {
            throw XCTSkip("this kenc build has no apply subcommand yet")
        }
        let work = try Shell.temporaryDirectory("manifests")
        defer { try? FileManager.default.removeItem(at: work) }
        let unreachable = work.appendingPathComponent("no-kend.sock").path

        let sample = Shell.repository.appendingPathComponent("packaging/etc/extensions.d/example.toml.sample")
        let shipped = work.appendingPathComponent("shipped")
        try FileManager.default.createDirectory(at: shipped, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: sample, to: shipped.appendingPathComponent("example.toml"))

        let manual = try String(contentsOf: Shell.repository.appendingPathComponent("man/ken.toml.5"), encoding: .utf8)
        let documented = work.appendingPathComponent("documented")
        try FileManager.default.createDirectory(at: documented, withIntermediateDirectories: true)
        for name in ["cat-opens", "ptrace-guard"] {
            let text = try XCTUnwrap(Self.exampleBlock(in: manual, startingWith: "# /etc/ken/extensions.d/\(name).toml"))
            try text.write(to: documented.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
        }
        try "tracepoint:syscalls:sys_enter_ptrace { signal(2); printf(\"%d\\n\", pid); }\n"
            .write(to: documented.appendingPathComponent("ptrace-guard.bt"), atomically: true, encoding: .utf8)

        for directory in [shipped, documented] {
            let result = try Shell.run(kenc, ["apply", "--dry-run", "-f", directory.path, "--kend-socket", unreachable])
            XCTAssertEqual(result.status, 5, "\(directory.lastPathComponent): manifests read, kend unreachable: \(result.stderr)")
        }
        let empty = work.appendingPathComponent("invalid")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try "name = \"x\"\n".write(to: empty.appendingPathComponent("x.toml"), atomically: true, encoding: .utf8)
        let invalid = try Shell.run(kenc, ["apply", "--dry-run", "-f", empty.path, "--kend-socket", unreachable])
        XCTAssertEqual(invalid.status, 1, invalid.stderr)
        XCTAssertTrue(invalid.stderr.contains("prompt"), invalid.stderr)
    }

    /// Starts ken-agent on private paths with `policy`; true when it serves its socket, false
    /// when it exits first. Always stopped with SIGTERM before returning.
    private func startAgent(bin: URL, policy: String, work: URL) throws -> (served: Bool, log: String) {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let config = work.appendingPathComponent("agent.toml")
        try policy.write(to: config, atomically: true, encoding: .utf8)
        let socket = work.appendingPathComponent("agent.sock")
        let logURL = work.appendingPathComponent("log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        let process = Process()
        process.executableURL = bin.appendingPathComponent("ken-agent")
        process.arguments = ["--config", config.path, "--socket", socket.path,
                             "--state-dir", work.appendingPathComponent("state").path,
                             "--pin-root", work.appendingPathComponent("pins").path]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LISTEN_FDS")
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        var served = false
        while Date() < deadline, process.isRunning {
            if FileManager.default.fileExists(atPath: socket.path) { served = true; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (served, (try? String(contentsOf: logURL, encoding: .utf8)) ?? "")
    }

    /// The text of the `.nf` … `.fi` example in a man page whose first line is `firstLine`, with
    /// roff's hyphen escapes undone.
    static func exampleBlock(in manual: String, startingWith firstLine: String) -> String? {
        let lines = manual.components(separatedBy: "\n")
        var collecting = false
        var block: [String] = []
        for line in lines {
            let text = line.replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\e", with: "\\")
            if !collecting {
                if text == firstLine { collecting = true; block.append(text) }
            } else if line == ".fi" {
                return block.joined(separator: "\n") + "\n"
            } else {
                block.append(text)
            }
        }
        return nil
    }
}
