import Foundation
import KenProto
import KenRPC
import XCTest

/// Clients that break the rules: each gets a clear answer or a clean close, and a well-behaved
/// client connected afterwards is still served.
final class RobustnessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var server: RPCServer<TestAgentHandler>!
    private var socketPath: String { directory.file("agent.sock") }

    override func setUp() async throws {
        directory = try TemporaryDirectory(self)
        var configuration = RPCServerConfiguration()
        configuration.readTimeout = .milliseconds(300)
        configuration.idleTimeout = .milliseconds(600)
        configuration.unusedTimeout = .milliseconds(600)
        configuration.maxConnections = 4
        configuration.maxCallsPerConnection = 3
        // The tests run as root, which the default treats as privileged (exempt from limits).
        configuration.isPrivileged = { _ in false }
        server = try await RPCServer.start(endpoint: .path(socketPath), handler: TestAgentHandler(verifyDelay: .seconds(2)),
                                           configuration: configuration)
    }

    override func tearDown() async throws {
        await server?.shutdown(gracePeriod: .milliseconds(200))
    }

    private func assertStillServing(file: StaticString = #filePath, line: UInt = #line) async throws {
        let client = try await AgentClient.connect(path: socketPath)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        let reply = try await client.call(request, timeout: .seconds(3))
        XCTAssertEqual(reply.statusReply.version, "0.1.0-test", file: file, line: line)
        XCTAssertEqual(reply.statusReply.peerPid, getpid(), file: file, line: line)
        await client.close()
    }

    private func connectionAnswer(_ raw: RawSocket) throws -> Ken_V1_AgentResponse {
        let body = try XCTUnwrap(raw.readFrame(), "the server answers before closing")
        return try Ken_V1_AgentResponse(serializedBytes: body)
    }

    func testOversizedFrameIsRefusedBeforeTheBodyIsSent() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        // Only the header: 5 MiB announced, not a byte of body sent.
        try raw.send(varint(5 * 1024 * 1024))
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .resourceExhausted)
        XCTAssertTrue(answer.status.message.contains("5242880"), answer.status.message)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testTruncatedFrameThenClose() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        var request = Ken_V1_AgentRequest()
        request.id = 1
        request.status = Ken_V1_AgentStatusRequest()
        let bytes = try frame(request)
        try raw.send(Array(bytes.dropLast()))
        raw.shutdownWrite()
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .invalidArgument)
        XCTAssertTrue(answer.status.message.contains("inside a frame"), answer.status.message)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testGarbageIsAnsweredInvalidArgumentAndClosed() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        // A plausible length, then bytes that are not a protobuf message (a truncated varint field).
        try raw.send([0x06, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff])
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .invalidArgument)
        XCTAssertTrue(answer.status.message.contains("not a valid ken.v1.AgentRequest"), answer.status.message)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testBadVarintIsAnsweredAndClosed() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        try raw.send([UInt8](repeating: 0xff, count: 11))
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .invalidArgument)
        XCTAssertTrue(answer.status.message.contains("malformed frame length"), answer.status.message)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testUnsetCallIsAnsweredAndTheConnectionKept() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        var empty = Ken_V1_AgentRequest()
        empty.id = 9
        try raw.send(try frame(empty))
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 9)
        XCTAssertEqual(answer.status.code, .invalidArgument)
        XCTAssertTrue(answer.status.message.contains("no call set"), answer.status.message)
        // Same connection, a proper call now.
        var status = Ken_V1_AgentRequest()
        status.id = 10
        status.status = Ken_V1_AgentStatusRequest()
        try raw.send(try frame(status))
        let reply = try connectionAnswer(raw)
        XCTAssertEqual(reply.id, 10)
        XCTAssertEqual(reply.statusReply.peerUid, getuid())
        try await assertStillServing()
    }

    func testRequestIDZeroIsRefused() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        var request = Ken_V1_AgentRequest()
        request.status = Ken_V1_AgentStatusRequest()
        try raw.send(try frame(request))
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .invalidArgument)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testStalledMidFrameHitsTheReadTimeout() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        let start = ContinuousClock.now
        try raw.send(varint(100) + [0x08, 0x01])   // 2 of 100 announced bytes, then nothing
        let answer = try connectionAnswer(raw)
        let waited = ContinuousClock.now - start
        XCTAssertEqual(answer.id, 0)
        XCTAssertEqual(answer.status.code, .deadlineExceeded)
        XCTAssertTrue(raw.isClosedByPeer())
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(250))
        XCTAssertLessThan(waited, .seconds(3))
        try await assertStillServing()
    }

    func testIdleConnectionIsClosed() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.status.code, .deadlineExceeded)
        XCTAssertTrue(answer.status.message.contains("idle"), answer.status.message)
        XCTAssertTrue(raw.isClosedByPeer())
        try await assertStillServing()
    }

    func testConnectionLimit() async throws {
        // Four connections held open (the limit), the fifth is refused with a reason.
        let held = try (0..<4).map { _ in try RawSocket(connectTo: socketPath) }
        let extra = try RawSocket(connectTo: socketPath)
        let answer = try connectionAnswer(extra)
        XCTAssertEqual(answer.status.code, .resourceExhausted)
        XCTAssertTrue(answer.status.message.contains("too many connections"), answer.status.message)
        XCTAssertTrue(extra.isClosedByPeer())
        _ = held.count
        withExtendedLifetime(held) {}
        // Closing them frees the slots.
        let server = self.server
        let freed = await eventually { server?.connectionCount == 4 }
        XCTAssertTrue(freed)
    }

    /// One uid cannot take every slot: its own limit refuses it first, naming the uid.
    func testPerUIDConnectionLimit() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxConnections = 8
        configuration.maxConnectionsPerUID = 2
        configuration.isPrivileged = { _ in false }
        let path = directory.file("peruid.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler(), configuration: configuration)
        defer { Task { await server.shutdown(gracePeriod: .milliseconds(100)) } }
        let held = try (0..<2).map { _ in try RawSocket(connectTo: path) }
        let open = await eventually { server.connectionCount == 2 }
        XCTAssertTrue(open)
        let extra = try RawSocket(connectTo: path)
        let answer = try connectionAnswer(extra)
        XCTAssertEqual(answer.status.code, .resourceExhausted)
        XCTAssertTrue(answer.status.message.contains("from uid \(getuid())"), answer.status.message)
        XCTAssertTrue(extra.isClosedByPeer())
        withExtendedLifetime(held) {}
    }

    /// Privileged peers skip the per-uid limit and have slots of their own beyond the shared
    /// limit, up to the reserve.
    func testPrivilegedPeerIsServedBeyondTheLimits() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxConnections = 2
        configuration.maxConnectionsPerUID = 1
        configuration.privilegedReserve = 2
        configuration.isPrivileged = { $0.uid == getuid() }
        let path = directory.file("privileged.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler(), configuration: configuration)
        defer { Task { await server.shutdown(gracePeriod: .milliseconds(100)) } }
        let held = try (0..<4).map { _ in try RawSocket(connectTo: path) }
        let open = await eventually { server.connectionCount == 4 }
        XCTAssertTrue(open, "2 shared + 2 reserved")
        let extra = try RawSocket(connectTo: path)
        let answer = try connectionAnswer(extra)
        XCTAssertEqual(answer.status.code, .resourceExhausted)
        XCTAssertTrue(answer.status.message.contains("kept for root and administrators"), answer.status.message)
        withExtendedLifetime(held) {}
    }

    /// A connection that has sent nothing is closed after `unusedTimeout`, not `idleTimeout`.
    func testUnusedConnectionIsClosedSooner() async throws {
        var configuration = RPCServerConfiguration()
        configuration.unusedTimeout = .milliseconds(200)
        configuration.idleTimeout = .seconds(60)
        let path = directory.file("unused.sock")
        let server = try await RPCServer.start(endpoint: .path(path), handler: TestAgentHandler(), configuration: configuration)
        defer { Task { await server.shutdown(gracePeriod: .milliseconds(100)) } }
        let start = ContinuousClock.now
        let raw = try RawSocket(connectTo: path)
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.status.code, .deadlineExceeded)
        XCTAssertTrue(answer.status.message.contains("nothing sent"), answer.status.message)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        XCTAssertTrue(raw.isClosedByPeer())
    }

    func testConnectionSlotsAreFreedAfterClose() async throws {
        do {
            let held = try (0..<4).map { _ in try RawSocket(connectTo: socketPath) }
            let server = self.server
            let allOpen = await eventually { server?.connectionCount == 4 }
            XCTAssertTrue(allOpen)
            withExtendedLifetime(held) {}
        }
        let server = self.server
        let freed = await eventually { server?.connectionCount == 0 }
        XCTAssertTrue(freed)
        try await assertStillServing()
    }

    func testTooManyCallsInFlightOnOneConnection() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        for id in UInt64(1)...4 {
            var request = Ken_V1_AgentRequest()
            request.id = id
            request.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.programText = "BEGIN {}" }   // takes 2 s
            try raw.send(try frame(request))
        }
        let answer = try connectionAnswer(raw)
        XCTAssertEqual(answer.id, 4)
        XCTAssertEqual(answer.status.code, .resourceExhausted)
        // A duplicate id of a call in flight is refused too.
        var duplicate = Ken_V1_AgentRequest()
        duplicate.id = 2
        duplicate.list = Ken_V1_ListRequest()
        try raw.send(try frame(duplicate))
        let refused = try connectionAnswer(raw)
        XCTAssertEqual(refused.id, 2)
        XCTAssertEqual(refused.status.code, .invalidArgument)
        try await assertStillServing()
    }

    func testClientThatNeverReadsIsThrottled() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        raw.setSendTimeout(.milliseconds(500))
        // Small requests with larger answers, never reading the answers. Once the server's
        // send buffer is full it must stop reading; then our sends block and time out.
        var batch: [UInt8] = []
        for id in UInt64(1)...10_000 {
            var request = Ken_V1_AgentRequest()
            request.id = id
            request.list = Ken_V1_ListRequest.with { $0.all = true }
            batch += try frame(request)
        }
        var sent = 0
        var throttled = false
        let limit = 64 * 1024 * 1024
        while sent < limit {
            do {
                try raw.send(batch)
                sent += batch.count
            } catch {
                throttled = true
                break
            }
        }
        XCTAssertTrue(throttled, "the server kept reading \(sent) bytes of requests whose answers nobody read")
        print("KenRPC: a non-reading client was throttled after \(sent) bytes of requests")
        try await assertStillServing()
    }

    func testHandlerErrorsBecomeStatusCodes() async throws {
        struct Failing: RPCHandler {
            func handle(_ request: Ken_V1_AgentRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
                switch request.call {
                case .get: throw RPCStatusError(.notFound, "no extension abc", hint: "ken list")
                default: throw CocoaError(.fileNoSuchFile)
                }
            }
        }
        let path = directory.file("failing.sock")
        let failing = try await RPCServer.start(endpoint: .path(path), handler: Failing())
        let client = try await AgentClient.connect(path: path)
        var get = Ken_V1_AgentRequest()
        get.get = Ken_V1_GetRequest.with { $0.id = "abc" }
        let notFound = try await client.call(get)
        XCTAssertEqual(notFound.status.code, .notFound)
        XCTAssertEqual(notFound.status.message, "no extension abc")
        XCTAssertEqual(notFound.status.hint, "ken list")
        var list = Ken_V1_AgentRequest()
        list.list = Ken_V1_ListRequest()
        let internalError = try await client.call(list)
        XCTAssertEqual(internalError.status.code, .internal)
        await client.close()
        await failing.shutdown()
    }
}
