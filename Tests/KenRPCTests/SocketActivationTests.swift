import Foundation
import KenProto
import KenRPC
import Systemd
import XCTest

/// Socket activation, two ways:
/// 1. In process: a socket the test binds and listens on is served through
///    `RPCEndpoint.listeningSocket` (the code path an activated daemon takes after
///    `RPCEndpoint.activated()` picked its fd).
/// 2. For real: `systemd-socket-activate -l PATH` launches this very test binary, filtered to
///    `testActivatedChild`, which finds its socket through LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES
///    (libsystemd) and serves one call. The parent talks to it over PATH. No other helper's
///    binary is needed, so the test runs wherever `swift test` does.
final class SocketActivationTests: XCTestCase {
    static let childMarker = "KEN_RPC_ACTIVATION_CHILD"

    /// Answers status with facts only the activated process knows.
    struct ActivatedHandler: RPCHandler {
        let detail: String
        let served: AsyncStream<Void>.Continuation

        func handle(_ request: Ken_V1_AgentRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
            var response = Ken_V1_AgentResponse()
            response.statusReply = Ken_V1_AgentStatusReply.with {
                $0.version = detail
                $0.pid = getpid()
                $0.peerUid = context.peer.uid
                $0.peerGid = context.peer.gid
                $0.peerPid = context.peer.pid
            }
            served.yield()
            return response
        }
    }

    func testServingAnInheritedListeningSocket() async throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("inherited.sock")
        let fd = try makeListeningSocket(at: path)
        XCTAssertTrue(ActivatedSocket(fileDescriptor: fd, name: "x").isListeningUnixStreamSocket)
        let server = try await RPCServer.start(endpoint: .listeningSocket(fileDescriptor: fd), handler: TestAgentHandler())
        XCTAssertEqual(server.path, path, "the server reports the path its fd is bound to")
        let client = try await AgentClient.connect(path: path)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        let reply = try await client.call(request)
        XCTAssertEqual(reply.statusReply.peerPid, getpid())
        await client.close()
        await server.shutdown()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "an activated socket's file belongs to systemd and stays")
    }

    func testNotActivatedIsAClearError() throws {
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_PID")
        XCTAssertEqual(try SocketActivation.listenedSockets(), [])
        XCTAssertThrowsError(try RPCEndpoint.activated()) { error in
            guard case .notActivated(let reason) = error as? RPCError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("LISTEN_FDS"), reason)
        }
        XCTAssertEqual(try RPCEndpoint.activatedOr(path: "/run/ken/agent.sock"), .path("/run/ken/agent.sock"))
        // LISTEN_PID naming another process: the fds are not ours.
        setenv("LISTEN_FDS", "1", 1)
        setenv("LISTEN_PID", "1", 1)
        defer { unsetenv("LISTEN_FDS"); unsetenv("LISTEN_PID") }
        XCTAssertEqual(try SocketActivation.listenedSockets(unsetEnvironment: false), [])
        XCTAssertThrowsError(try RPCEndpoint.activatedOr(path: "/run/ken/agent.sock"))
    }

    func testSystemdSocketActivateLaunchesAServer() async throws {
        guard let activate = findExecutable("systemd-socket-activate") else {
            throw XCTSkip("systemd-socket-activate is not installed (package systemd); real activation not checked")
        }
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let directory = try TemporaryDirectory(self)
        let path = directory.file("activated.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: activate)
        process.arguments = [
            "-l", path, "--fdname=ken-agent",
            "-E", "\(Self.childMarker)=1", "-E", "PATH", "-E", "HOME", "-E", "LD_LIBRARY_PATH",
            executable, "KenRPCTests.SocketActivationTests/testActivatedChild",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // systemd-socket-activate binds PATH, listens, then execs the child on the first
        // connection. Between its bind and listen a connect is refused: retry briefly.
        var connected: AgentClient?
        let deadline = ContinuousClock.now + .seconds(10)
        while connected == nil {
            do {
                connected = try await AgentClient.connect(path: path)
            } catch {
                switch error {
                case .socketNotFound where ContinuousClock.now < deadline, .connectionRefused where ContinuousClock.now < deadline:
                    try await Task.sleep(for: .milliseconds(20))
                default:
                    throw error
                }
            }
        }
        let client = try XCTUnwrap(connected)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        let reply = try await client.call(request, timeout: .seconds(60))
        XCTAssertEqual(reply.statusReply.version, "activated fd=3 name=ken-agent")
        XCTAssertEqual(reply.statusReply.pid, process.processIdentifier, "served by the process systemd-socket-activate started")
        XCTAssertEqual(reply.statusReply.peerPid, getpid())
        XCTAssertEqual(reply.statusReply.peerUid, getuid())
        await client.close()

        let exited = await eventually(timeout: .seconds(30)) { !process.isRunning }
        XCTAssertTrue(exited, "the activated child exits after serving")
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("testActivatedChild' passed"), log)
    }

    /// The server side of `testSystemdSocketActivateLaunchesAServer`, run in the child process.
    func testActivatedChild() async throws {
        guard ProcessInfo.processInfo.environment[Self.childMarker] == "1" else {
            throw XCTSkip("runs only inside systemd-socket-activate, started by testSystemdSocketActivateLaunchesAServer")
        }
        let sockets = try SocketActivation.listenedSockets(unsetEnvironment: false)
        XCTAssertEqual(sockets, [ActivatedSocket(fileDescriptor: 3, name: "ken-agent")])
        let endpoint = try RPCEndpoint.activated(name: "ken-agent")
        XCTAssertEqual(endpoint, .listeningSocket(fileDescriptor: 3))
        XCTAssertNil(getenv("LISTEN_FDS"), "activated() unsets LISTEN_* so children do not inherit them")
        let (served, continuation) = AsyncStream.makeStream(of: Void.self)
        let server = try await RPCServer.start(
            endpoint: endpoint,
            handler: ActivatedHandler(detail: "activated fd=3 name=\(sockets.first?.name ?? "")", served: continuation))
        var iterator = served.makeAsyncIterator()
        _ = await iterator.next()
        await server.shutdown(gracePeriod: .seconds(5))
    }

    private func makeListeningSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 16), 0)
        return fd
    }
}
