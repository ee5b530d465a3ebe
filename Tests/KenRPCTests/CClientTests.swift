import Foundation
import KenProto
import KenRPC
import XCTest

/// clients/c/kenc-status — protoc-c bindings, libprotobuf-c — against a real KenRPC server.
final class CClientTests: XCTestCase {
    private static let build = Locked<String?>(nil)

    override class func tearDown() {
        if let binary = build.withLockedValue({ $0 }) {
            try? FileManager.default.removeItem(at: URL(fileURLWithPath: binary).deletingLastPathComponent())
        }
        super.tearDown()
    }

    /// Builds the C client once per test run into a temporary directory.
    private func buildClient() throws -> String {
        if let built = Self.build.withLockedValue({ $0 }), FileManager.default.isExecutableFile(atPath: built) { return built }
        for tool in ["make", "cc", "protoc-c", "pkg-config"] where findExecutable(tool) == nil {
            throw XCTSkip("\(tool) is not installed; the C client is not checked (apt-get install build-essential protobuf-c-compiler libprotobuf-c-dev)")
        }
        let probe = try runProgram("/usr/bin/env", ["pkg-config", "--exists", "libprotobuf-c"])
        guard probe.status == 0 else {
            throw XCTSkip("libprotobuf-c (libprotobuf-c-dev) is not installed; the C client is not checked")
        }
        let root = repositoryRoot()
        let source = root.appendingPathComponent("clients/c").path
        let output = NSTemporaryDirectory() + "kenc-build-\(getpid())"
        let made = try runProgram("/usr/bin/env", ["make", "-C", source, "BUILD=\(output)", "PROTO_DIR=\(root.appendingPathComponent("Proto").path)"])
        XCTAssertEqual(made.status, 0, "make failed: \(made.stderr)")
        let binary = output + "/kenc-status"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("build produced no binary: \(made.stderr)") }
        Self.build.withLockedValue { $0 = binary }
        return binary
    }

    func testCClientPrintsTheStatusReply() async throws {
        let binary = try buildClient()
        let directory = try TemporaryDirectory(self)
        let path = directory.file("agent.sock")
        let handler = TestAgentHandler()
        let server = try await RPCServer.start(endpoint: .path(path), handler: handler)
        let result = try await Task.detached { try runProgram(binary, [path]) }.value
        await server.shutdown()

        XCTAssertEqual(result.status, 0, result.stderr)
        let request = try XCTUnwrap(handler.recorder.requests.first, "the server received the C client's request")
        XCTAssertEqual(request.id, 1)
        XCTAssertEqual(request.call, .status(Ken_V1_AgentStatusRequest()))
        let peer = try XCTUnwrap(handler.recorder.peers.first)
        XCTAssertEqual(peer.uid, getuid())
        let expected = """
        version: 0.1.0-test
        kernel_release: 6.18.0-test
        bpftrace_version: v0.17.0
        extensions_total: 3
        extensions_attached: 2
        extensions_failed: 1
        uptime_seconds: 12.500
        pid: 4242
        peer_uid: \(peer.uid)
        peer_gid: \(peer.gid)
        peer_pid: \(peer.pid)

        """
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), expected)
        XCTAssertNotEqual(peer.pid, getpid(), "the peer is the C process, not the test")
    }

    /// As another user: the 0660 socket refuses it with a hint; once opened up, SO_PEERCRED
    /// reports that user's uid and gid (not just root's zeros).
    func testCClientAsAnotherUser() async throws {
        guard getuid() == 0, let setpriv = findExecutable("setpriv") else {
            throw XCTSkip("needs root and setpriv (util-linux) to run the C client as nobody")
        }
        let binary = try buildClient()
        let directory = try TemporaryDirectory(self)
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        // The build directory must be reachable for nobody too.
        var component = URL(fileURLWithPath: binary).deletingLastPathComponent()
        while component.path != "/" && component.path.hasPrefix(NSTemporaryDirectory()) {
            chmod(component.path, 0o755)
            component = component.deletingLastPathComponent()
        }
        let path = directory.file("agent.sock")
        let handler = TestAgentHandler()
        let server = try await RPCServer.start(endpoint: .path(path), handler: handler)
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", binary, path]

        let denied = try await Task.detached { try runProgram(setpriv, asNobody) }.value
        XCTAssertEqual(denied.status, 1)
        XCTAssertTrue(denied.stderr.contains("permission denied on \(path)"), denied.stderr)

        XCTAssertEqual(chmod(path, 0o666), 0)
        let allowed = try await Task.detached { try runProgram(setpriv, asNobody) }.value
        await server.shutdown()
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        let output = String(decoding: allowed.stdout, as: UTF8.self)
        XCTAssertTrue(output.contains("peer_uid: 65534\npeer_gid: 65534\n"), output)
        XCTAssertEqual(handler.recorder.peers.map(\.uid), [65534])
        XCTAssertEqual(handler.recorder.peers.map(\.gid), [65534])
    }

    func testCClientReportsErrors() async throws {
        let binary = try buildClient()
        let directory = try TemporaryDirectory(self)
        let missing = try runProgram(binary, [directory.file("absent.sock")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("is ken-agent running? socket \(directory.file("absent.sock")) does not exist"), missing.stderr)

        struct Refusing: RPCHandler {
            func handle(_ request: Ken_V1_AgentRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
                throw RPCStatusError(.permissionDenied, "uid \(context.peer.uid) may not ask")
            }
        }
        let path = directory.file("refusing.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: Refusing())
        let refused = try await Task.detached { try runProgram(binary, [path]) }.value
        await server.shutdown()
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("PERMISSION_DENIED: uid \(getuid()) may not ask"), refused.stderr)
        XCTAssertTrue(refused.stdout.isEmpty)
    }
}
