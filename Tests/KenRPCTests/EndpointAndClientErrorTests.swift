import Foundation
import KenProto
import KenRPC
import XCTest

final class EndpointAndClientErrorTests: XCTestCase {
    func testMissingSocketSaysWhichDaemonAndPath() async throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("absent.sock")
        do {
            _ = try await AgentClient.connect(path: path)
            XCTFail("connect to a missing socket succeeded")
        } catch {
            XCTAssertEqual(error, .socketNotFound(path: path, service: "ken-agent"))
            XCTAssertTrue(error.description.contains("is ken-agent running? socket \(path) does not exist"), error.description)
        }
        do {
            _ = try await KendClient.connect(path: path)
            XCTFail("connect to a missing socket succeeded")
        } catch {
            XCTAssertTrue(error.description.contains("is kend running?"), error.description)
        }
    }

    /// EACCES needs a user other than root: this test binary is run again as nobody (setpriv),
    /// filtered to `testPermissionDeniedChild`, against a 0660 root-owned socket.
    func testPermissionDeniedNamesTheFix() async throws {
        guard getuid() == 0, let setpriv = findExecutable("setpriv") else {
            throw XCTSkip("needs root and setpriv to connect as another user")
        }
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        guard access(executable, R_OK | X_OK) == 0 else { throw XCTSkip("test binary not accessible") }
        let directory = try TemporaryDirectory(self)
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let path = directory.file("agent.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler())
        let result = try await Task.detached {
            try runProgram("/usr/bin/env", [
                "KEN_RPC_EACCES_PATH=\(path)", setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                executable, "KenRPCTests.EndpointAndClientErrorTests/testPermissionDeniedChild",
            ])
        }.value
        await server.shutdown()
        let output = String(decoding: result.stdout, as: UTF8.self) + result.stderr
        guard !output.contains("Permission denied") || output.contains("testPermissionDeniedChild' passed") else {
            throw XCTSkip("nobody cannot run the test binary here: \(output.prefix(300))")
        }
        XCTAssertEqual(result.status, 0, output)
        XCTAssertTrue(output.contains("testPermissionDeniedChild' passed"), output)
    }

    func testPermissionDeniedChild() async throws {
        guard let path = ProcessInfo.processInfo.environment["KEN_RPC_EACCES_PATH"] else {
            throw XCTSkip("runs only as nobody, started by testPermissionDeniedNamesTheFix")
        }
        XCTAssertEqual(getuid(), 65534)
        do {
            _ = try await AgentClient.connect(path: path)
            XCTFail("nobody connected to a 0660 root socket")
        } catch {
            XCTAssertEqual(error, .permissionDenied(path: path, service: "ken-agent"))
            XCTAssertTrue(error.description.contains("add your user to the socket's group"), error.description)
        }
    }

    func testStaleSocketFileIsRefusedByClientAndReplacedByServer() async throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("stale.sock")
        // A socket file with nobody listening, as a crashed daemon leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(fd)
        do {
            _ = try await AgentClient.connect(path: path)
            XCTFail("connected to a stale socket")
        } catch {
            XCTAssertEqual(error, .connectionRefused(path: path, service: "ken-agent"))
        }
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler())
        let client = try await AgentClient.connect(path: path)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        let reply = try await client.call(request)
        XCTAssertEqual(reply.statusReply.peerUid, getuid())
        await client.close()

        // A second server on the same, live path is refused rather than stealing it.
        do {
            _ = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler())
            XCTFail("second server bound a live socket")
        } catch {
            XCTAssertEqual(error, .addressInUse(path: path))
        }
        await server.shutdown()
    }

    func testServerRefusesToReplaceARegularFile() async throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("not-a-socket")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        do {
            _ = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler())
            XCTFail("server replaced a regular file")
        } catch {
            guard case .bindFailed(let failedPath, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(failedPath, path)
            XCTAssertTrue(reason.contains("not a socket"), reason)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("keep me".utf8))
    }

    func testCallTimeoutCancelsTheServerSide() async throws {
        let directory = try TemporaryDirectory(self)
        let handler = TestAgentHandler(verifyDelay: .seconds(5))
        let server = try await RPCServer.start(endpoint: .path(directory.file("a.sock")), handler: handler)
        let client = try await AgentClient.connect(path: directory.file("a.sock"))
        var request = Ken_V1_AgentRequest()
        request.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.programText = "BEGIN {}" }
        let start = ContinuousClock.now
        do {
            _ = try await client.call(request, timeout: .milliseconds(200))
            XCTFail("call did not time out")
        } catch {
            guard case .timedOut(_, let operation, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(operation.contains("verify_only"), operation)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
        let recorder = handler.recorder
        let cancelled = await eventually { recorder.requests.first.map { recorder.wasCancelled($0.id) } ?? false }
        XCTAssertTrue(cancelled, "the timed-out call was cancelled on the server")
        await client.close()
        await server.shutdown()
    }

    func testCancellingTheCallerCancelsTheCall() async throws {
        let directory = try TemporaryDirectory(self)
        let handler = TestAgentHandler(verifyDelay: .seconds(10))
        let server = try await RPCServer.start(endpoint: .path(directory.file("a.sock")), handler: handler)
        let client = try await AgentClient.connect(path: directory.file("a.sock"))
        var request = Ken_V1_AgentRequest()
        request.verifyOnly = Ken_V1_VerifyOnlyRequest()
        let caller = Task { try await client.call(request) }
        let recorder = handler.recorder
        let started = await eventually { !recorder.requests.isEmpty }
        XCTAssertTrue(started)
        caller.cancel()
        do {
            _ = try await caller.value
            XCTFail("a cancelled call returned")
        } catch {
            XCTAssertEqual(error as? RPCError, .cancelled)
        }
        let cancelled = await eventually { recorder.requests.first.map { recorder.wasCancelled($0.id) } ?? false }
        XCTAssertTrue(cancelled, "the server-side task was cancelled too")
        await client.close()
        await server.shutdown()
    }

    func testCallsFailWhenTheServerGoesAway() async throws {
        let directory = try TemporaryDirectory(self)
        let server = try await RPCServer.start(endpoint: .path(directory.file("a.sock")), handler: TestAgentHandler(verifyDelay: .seconds(10)))
        let client = try await AgentClient.connect(path: directory.file("a.sock"))
        var request = Ken_V1_AgentRequest()
        request.verifyOnly = Ken_V1_VerifyOnlyRequest()
        async let pending = client.call(request)
        try await Task.sleep(for: .milliseconds(100))
        await server.shutdown(gracePeriod: .milliseconds(100))
        do {
            let response = try await pending
            // Shutdown may answer the cancelled call before closing.
            XCTAssertEqual(response.status.code, .cancelled)
        } catch {
            XCTAssertEqual(error as? RPCError, .connectionClosed(path: directory.file("a.sock")))
        }
        do {
            _ = try await client.call(request)
            XCTFail("call on a closed connection succeeded")
        } catch {
            XCTAssertEqual(error, .connectionClosed(path: directory.file("a.sock")))
        }
    }

    func testGracefulShutdownFinishesCallsInFlight() async throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("a.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler(verifyDelay: .milliseconds(300)))
        let client = try await AgentClient.connect(path: path)
        var request = Ken_V1_AgentRequest()
        request.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpftrace; $0.programText = "BEGIN {}" }
        async let pending = client.call(request)
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        await server.shutdown(gracePeriod: .seconds(5))
        let took = ContinuousClock.now - start
        let response = try await pending
        XCTAssertEqual(response.status.code, .ok)
        XCTAssertTrue(response.verifyOnly.accepted)
        XCTAssertLessThan(took, .seconds(2), "shutdown returned once the call finished, not after the grace period")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        do {
            _ = try await AgentClient.connect(path: path)
            XCTFail("connected after shutdown")
        } catch {
            XCTAssertEqual(error, .socketNotFound(path: path, service: "ken-agent"))
        }
    }
}
