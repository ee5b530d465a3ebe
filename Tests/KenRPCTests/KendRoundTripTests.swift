import Foundation
import KenProto
import KenRPC
import XCTest

final class KendRoundTripTests: XCTestCase {
    func testEveryKendCall() async throws {
        let directory = try TemporaryDirectory(self)
        let handler = TestKendHandler()
        let server = try await RPCServer.start(endpoint: .path(directory.file("kend.sock")), handler: handler)
        let client = try await KendClient.connect(path: directory.file("kend.sock"))

        func check(_ request: Ken_V1_KendRequest) async throws -> [Ken_V1_KendResponse] {
            var received: [Ken_V1_KendResponse] = []
            for try await response in client.stream(request, timeout: .seconds(5)) { received.append(response) }
            let id = try XCTUnwrap(received.first?.id)
            var sent = request
            sent.id = id
            XCTAssertEqual(handler.recorder.requests.first { $0.id == id }, sent, "handler got exactly the request")
            XCTAssertEqual(received.map(normalized), handler.recorder.responses(for: id).map(normalized),
                           "client got exactly what the handler sent")
            XCTAssertEqual(received.map(\.more), Array(repeating: true, count: received.count - 1) + [false])
            return received
        }

        var status = Ken_V1_KendRequest()
        status.status = Ken_V1_KendStatusRequest()
        let statusReplies = try await check(status)
        XCTAssertEqual(statusReplies.count, 1)
        XCTAssertEqual(statusReplies.first?.statusReply.llmModel, "test-model")

        var synthesize = Ken_V1_KendRequest()
        synthesize.synthesize = Ken_V1_SynthesizeRequest.with {
            $0.prompt = "count file opens per process"
            $0.attach = true
            $0.name = "opens"
            $0.maxAttempts = 3
            $0.hints = ["use tracepoints", "per comm"]
            $0.taskID = "t-0"
            $0.verifyOnly = false
        }
        let synthesisReplies = try await check(synthesize)
        XCTAssertEqual(synthesisReplies.dropLast().map(\.event.stage), TestKendHandler.stages)
        XCTAssertEqual(synthesisReplies.dropLast().compactMap { $0.event.errors.first?.message }, ["unused map"])
        XCTAssertEqual(synthesisReplies.last?.report.note, "use tracepoints; per comm")
        XCTAssertEqual(synthesisReplies.last?.report.attached, true)

        var verify = Ken_V1_KendRequest()
        verify.verify = Ken_V1_VerifyRequest.with {
            $0.program = "tracepoint:syscalls:sys_enter_openat { }"
            $0.prompt = "p"
            $0.timeoutSeconds = 2.5
            $0.fileName = "x.bt"
        }
        let verifyReplies = try await check(verify)
        XCTAssertEqual(verifyReplies.last?.verify.asserts.first?.file, "x.bt")
        XCTAssertEqual(verifyReplies.last?.verify.asserts.first?.model.first?.value, "1")

        var apply = Ken_V1_KendRequest()
        apply.apply = Ken_V1_ApplyRequest.with {
            $0.manifests = [
                Ken_V1_Manifest.with { $0.name = "one"; $0.prompt = "a"; $0.maxAttempts = 2; $0.sourcePath = "/etc/ken/one.toml" },
                Ken_V1_Manifest.with { $0.name = "two"; $0.program = "BEGIN {}"; $0.programSha256 = String(repeating: "a", count: 64) },
            ]
            $0.prune = true
            $0.dryRun = false
        }
        let applyReplies = try await check(apply)
        XCTAssertEqual(applyReplies.last?.apply.actions.map(\.name), ["one", "two"])
        XCTAssertEqual(applyReplies.last?.apply.changed, true)

        let me = PeerCredentials(uid: getuid(), gid: getgid(), pid: getpid())
        XCTAssertEqual(handler.recorder.peers, Array(repeating: me, count: 4))

        // `call` returns the final response of a stream.
        let report = try await client.call(synthesize)
        XCTAssertEqual(report.report.taskID, "task-opens")
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
