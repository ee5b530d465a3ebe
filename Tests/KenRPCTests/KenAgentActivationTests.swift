import Foundation
import KenProto
import KenRPC
import XCTest

/// The real daemon under `systemd-socket-activate`, when it has been built: `swift test` in the
/// main package builds `ken-agent` next to the test bundle. `KEN_AGENT_BINARY` points elsewhere.
final class KenAgentActivationTests: XCTestCase {
    private func kenAgentBinary() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["KEN_AGENT_BINARY"] { return explicit }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let sibling = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("ken-agent").path
        guard FileManager.default.isExecutableFile(atPath: sibling) else {
            throw XCTSkip("ken-agent is not built next to the tests (\(sibling)); set KEN_AGENT_BINARY to check it under systemd-socket-activate")
        }
        return sibling
    }

    func testKenAgentServesItsActivatedSocket() async throws {
        guard let activate = findExecutable("systemd-socket-activate") else {
            throw XCTSkip("systemd-socket-activate is not installed")
        }
        let agent = try kenAgentBinary()
        let directory = try TemporaryDirectory(self)
        let path = directory.file("agent.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: activate)
        process.arguments = [
            "-l", path, "-E", "PATH", "-E", "HOME",
            agent, "--state-dir", directory.file("state"), "--config", directory.file("absent-policy.toml"),
            "--pin-root", directory.file("pins"),
            // A --socket that must NOT be used: the activated fd wins.
            "--socket", directory.file("unused.sock"),
        ]
        let log = directory.file("agent.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }

        var client: AgentClient?
        let deadline = ContinuousClock.now + .seconds(15)
        while client == nil {
            do {
                client = try await AgentClient.connect(path: path)
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let connected = try XCTUnwrap(client)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        let reply = try await connected.call(request, timeout: .seconds(30))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(reply.status.code, .ok, "\(reply.status.message)\n\(output)")
        XCTAssertEqual(reply.statusReply.pid, process.processIdentifier, "served by the activated ken-agent")
        XCTAssertEqual(reply.statusReply.peerPid, getpid())
        XCTAssertEqual(reply.statusReply.peerUid, getuid())
        XCTAssertFalse(reply.statusReply.version.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("unused.sock")), "--socket was not bound")
        await connected.close()

        process.terminate()
        let stopped = await eventually(timeout: .seconds(15)) { !process.isRunning }
        XCTAssertTrue(stopped, "ken-agent stops on SIGTERM")
    }
}
