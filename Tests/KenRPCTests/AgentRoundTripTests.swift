import Foundation
import KenProto
import KenRPC
import XCTest

final class AgentRoundTripTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var handler: TestAgentHandler!
    private var server: RPCServer<TestAgentHandler>!
    private var socketPath: String { directory.file("agent.sock") }
    private var me: PeerCredentials { PeerCredentials(uid: getuid(), gid: getgid(), pid: getpid()) }

    override func setUp() async throws {
        directory = try TemporaryDirectory(self)
        handler = TestAgentHandler(verifyDelay: .zero)
        server = try await RPCServer.start(endpoint: .path(socketPath), handler: handler)
    }

    override func tearDown() async throws {
        await server?.shutdown(gracePeriod: .seconds(1))
    }

    /// Sends `request`, then checks the handler got exactly it (with the assigned id) and the
    /// client got exactly what the handler answered.
    private func roundTrip(_ request: Ken_V1_AgentRequest, client: AgentClient) async throws -> Ken_V1_AgentResponse {
        let response = try await client.call(request, timeout: .seconds(5))
        XCTAssertNotEqual(response.id, 0)
        XCTAssertFalse(response.more)
        let received = handler.recorder.requests.first { $0.id == response.id }
        var sent = request
        sent.id = response.id
        XCTAssertEqual(received, sent, "handler received exactly the request sent")
        XCTAssertEqual(handler.recorder.responses(for: response.id).map(normalized), [normalized(response)],
                       "client received exactly what the handler answered")
        return response
    }

    func testEveryUnaryAgentCall() async throws {
        let client = try await AgentClient.connect(path: socketPath)
        defer { Task { await client.close() } }

        var status = Ken_V1_AgentRequest()
        status.status = Ken_V1_AgentStatusRequest()
        let statusReply = try await roundTrip(status, client: client)
        XCTAssertEqual(statusReply.statusReply.peerUid, getuid())
        XCTAssertEqual(statusReply.statusReply.peerGid, getgid())
        XCTAssertEqual(statusReply.statusReply.peerPid, getpid())
        XCTAssertEqual(statusReply.statusReply.version, "0.1.0-test")

        var attach = Ken_V1_AgentRequest()
        attach.attach = Ken_V1_AttachRequest.with {
            $0.name = "opens"
            $0.kind = .bpftrace
            $0.programText = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"
            $0.object = Data([0x7f, 0x45, 0x4c, 0x46, 0, 1])
            $0.prompt = "count opens by process"
            $0.annotatedProgram = "// assert true"
            $0.restart = .onFailure
        }
        let attachReply = try await roundTrip(attach, client: client)
        XCTAssertEqual(attachReply.attach.extension.programText, attach.attach.programText)
        XCTAssertEqual(attachReply.attach.extension.ownerUid, getuid())

        var verify = Ken_V1_AgentRequest()
        verify.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpftrace; $0.programText = "BEGIN { exit(); }"; $0.object = Data([1, 2, 3]) }
        let verifyReply = try await roundTrip(verify, client: client)
        XCTAssertEqual(verifyReply.verifyOnly.log, "verified: BEGIN { exit(); }")

        var list = Ken_V1_AgentRequest()
        list.list = Ken_V1_ListRequest.with { $0.all = true }
        let listReply = try await roundTrip(list, client: client)
        XCTAssertEqual(listReply.list.extensions.map(\.name), ["a", "b"])
        XCTAssertEqual(listReply.list.programs.map(\.id), [77])

        var get = Ken_V1_AgentRequest()
        get.get = Ken_V1_GetRequest.with { $0.id = "abc"; $0.name = "opens" }
        let getReply = try await roundTrip(get, client: client)
        XCTAssertEqual(getReply.get.extension.id, "abc")

        var detach = Ken_V1_AgentRequest()
        detach.detach = Ken_V1_DetachRequest.with { $0.name = "opens" }
        let detachReply = try await roundTrip(detach, client: client)
        XCTAssertEqual(detachReply.detach.extension.state, .detached)

        XCTAssertEqual(handler.recorder.peers.count, 6)
        XCTAssertTrue(handler.recorder.peers.allSatisfy { $0 == me }, "SO_PEERCRED: \(handler.recorder.peers) vs \(me)")
    }

    func testLogsStreamDeliversEveryResponseInOrder() async throws {
        let client = try await AgentClient.connect(path: socketPath)
        defer { Task { await client.close() } }
        var request = Ken_V1_AgentRequest()
        request.logs = Ken_V1_LogsRequest.with { $0.id = "ext-1"; $0.name = "opens"; $0.tail = 5 }
        var received: [Ken_V1_AgentResponse] = []
        for try await response in client.stream(request) { received.append(response) }
        XCTAssertEqual(received.count, 5)
        XCTAssertEqual(received.map(\.more), [true, true, true, true, false])
        let id = try XCTUnwrap(received.first?.id)
        XCTAssertTrue(received.allSatisfy { $0.id == id })
        XCTAssertEqual(received.map(normalized), handler.recorder.responses(for: id).map(normalized))
        XCTAssertEqual(received.last?.log.text, "opens line 4")
    }

    func testAbandonedFollowStreamIsCancelledOnTheServer() async throws {
        let client = try await AgentClient.connect(path: socketPath)
        defer { Task { await client.close() } }
        var request = Ken_V1_AgentRequest()
        request.logs = Ken_V1_LogsRequest.with { $0.name = "follow"; $0.tail = 2; $0.follow = true }
        var received: [Ken_V1_AgentResponse] = []
        for try await response in client.stream(request) {
            received.append(response)
            if received.count == 4 { break }   // the two tail lines and two followed ones
        }
        XCTAssertEqual(received.map { $0.log.text }, ["follow line 0", "follow line 1", "follow line 2", "follow line 3"])
        let id = try XCTUnwrap(received.first?.id)
        let recorder = handler.recorder
        let cancelled = await eventually { recorder.wasCancelled(id) }
        XCTAssertTrue(cancelled, "the CancelRequest sent on break reached the handler")
        // The connection is still usable after the cancel.
        var status = Ken_V1_AgentRequest()
        status.status = Ken_V1_AgentStatusRequest()
        let reply = try await client.call(status)
        XCTAssertEqual(reply.statusReply.peerPid, getpid())
    }

    func testExplicitCancelRequestEndsTheStreamWithCancelled() async throws {
        let raw = try RawSocket(connectTo: socketPath)
        var follow = Ken_V1_AgentRequest()
        follow.id = 5
        follow.logs = Ken_V1_LogsRequest.with { $0.name = "f"; $0.tail = 1; $0.follow = true }
        try raw.send(try frame(follow))
        let first = try Ken_V1_AgentResponse(serializedBytes: try XCTUnwrap(raw.readFrame()))
        XCTAssertEqual(first.id, 5)
        XCTAssertTrue(first.more)
        try raw.send(try frame(Ken_V1_AgentRequest.cancel(id: 6, requestID: 5)))
        var sawCancelAck = false
        var final: Ken_V1_AgentResponse?
        while final == nil || !sawCancelAck {
            let response = try Ken_V1_AgentResponse(serializedBytes: try XCTUnwrap(raw.readFrame(), "answers arrive"))
            if response.id == 6 { sawCancelAck = true; XCTAssertEqual(response.status.code, .ok) }
            if response.id == 5 && !response.more { final = response }
        }
        XCTAssertEqual(final?.status.code, .cancelled)
        // Cancelling a call that is not in flight is answered NOT_FOUND.
        try raw.send(try frame(Ken_V1_AgentRequest.cancel(id: 7, requestID: 99)))
        let notFound = try Ken_V1_AgentResponse(serializedBytes: try XCTUnwrap(raw.readFrame()))
        XCTAssertEqual(notFound.id, 7)
        XCTAssertEqual(notFound.status.code, .notFound)
    }

    func testManyClientsWithPipelinedCalls() async throws {
        let clients = 8, callsPerClient = 25
        let path = socketPath
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Int.self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    let client = try await AgentClient.connect(path: path)
                    // All calls of this client are in flight on one connection at once.
                    let count = try await withThrowingTaskGroup(of: Bool.self) { calls in
                        for callIndex in 0..<callsPerClient {
                            calls.addTask {
                                var request = Ken_V1_AgentRequest()
                                request.get = Ken_V1_GetRequest.with { $0.id = "\(clientIndex)-\(callIndex)" }
                                let response = try await client.call(request, timeout: .seconds(10))
                                return response.get.extension.id == "\(clientIndex)-\(callIndex)"
                            }
                        }
                        var matched = 0
                        for try await ok in calls where ok { matched += 1 }
                        return matched
                    }
                    await client.close()
                    return count
                }
            }
            var total = 0
            for try await matched in group { total += matched }
            XCTAssertEqual(total, clients * callsPerClient, "every answer matched its own request")
        }
        print("KenRPC: \(clients * callsPerClient) calls over \(clients) connections in \(ContinuousClock.now - start)")
    }

    func testSocketFileHasMode0660WhateverTheUmask() async throws {
        let previous = umask(0o077)
        defer { umask(previous) }
        let other = directory.file("umask.sock")
        let second = try await RPCServer.start(endpoint: .path(other), handler: handler)
        var info = stat()
        XCTAssertEqual(lstat(other, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        await second.shutdown(gracePeriod: .seconds(1))
        XCTAssertFalse(FileManager.default.fileExists(atPath: other), "shutdown removes the socket file it created")
    }
}
