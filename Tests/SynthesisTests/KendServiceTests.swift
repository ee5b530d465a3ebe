import Foundation
import KendCore
import Pipeline
import KenProto
import KenRPC
import KenVersion
import LLM
import TestSupport
import XCTest

/// kend's call handler over a real Unix socket: streamed progress, the final report, status,
/// and requests that must be refused.
final class KendServiceTests: XCTestCase {
    func testSynthesizeStreamsProgressThenTheReportOverTheSocket() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("service")
        let server = try ScriptedLLMServer(script: [.completion(Fixtures.reply("""
            tracepoint:sched:sched_process_exec
            {
              printf("%d %s\\n", pid, str(args->filename));
            }
            """))])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil)
        let service = KendService(engine: engine, status: {
            Ken_V1_KendStatusReply.with { $0.version = KenVersion.current; $0.llmModel = "scripted-model" }
        })
        let socket = state.appendingPathComponent("kend.sock").path
        let rpc = try await RPCServer.start(endpoint: .path(socket), handler: service)
        defer { Task { await rpc.shutdown() } }
        let client = try await KendClient.connect(path: socket)

        var request = Ken_V1_KendRequest()
        request.synthesize = Ken_V1_SynthesizeRequest.with { $0.prompt = "print the pid and path of every program executed" }
        var events: [Ken_V1_SynthesisEvent] = []
        var report: Ken_V1_SynthesisReport?
        for try await response in client.stream(request) {
            XCTAssertEqual(response.status.code, .ok, response.status.message)
            switch response.result {
            case .event(let event): events.append(event); XCTAssertTrue(response.more)
            case .report(let final): report = final; XCTAssertFalse(response.more)
            default: XCTFail("unexpected response \(response)")
            }
        }
        let final = try XCTUnwrap(report)
        XCTAssertTrue(final.passed, final.note)
        XCTAssertTrue(final.program.contains("sched_process_exec"))
        XCTAssertEqual(Set(events.map(\.stage)).isSuperset(of: [.prompt, .llm, .parse, .symbolicVerify, .done]), true,
                       "\(events.map(\.stage))")
        XCTAssertTrue(events.allSatisfy { $0.taskID == final.taskID })

        var status = Ken_V1_KendRequest()
        status.status = Ken_V1_KendStatusRequest()
        let answer = try await client.call(status)
        XCTAssertEqual(answer.statusReply.version, KenVersion.current)

        var apply = Ken_V1_KendRequest()
        apply.apply = Ken_V1_ApplyRequest()
        let refused = try await client.call(apply)
        XCTAssertEqual(refused.status.code, .unimplemented)
        await client.close()
    }

    func testPeersOutsideKendsUserAndGroupAreRefused() {
        XCTAssertTrue(PeerPolicy.sameUserOrGroup(PeerCredentials(uid: 0, gid: 0, pid: 1)))
        XCTAssertTrue(PeerPolicy.sameUserOrGroup(PeerCredentials(uid: getuid(), gid: getgid(), pid: getpid())))
        // nobody (65534) is in no group of ours, unless this process runs as nobody.
        if getuid() != 65534 && getgid() != 65534 {
            XCTAssertFalse(PeerPolicy.sameUserOrGroup(PeerCredentials(uid: 65534, gid: 65534, pid: 1)))
        }
    }
}

/// `kenc examples` over kend's socket: list, search, add (front end first), remove.
final class ExampleCallsTests: XCTestCase {
    func testListSearchAddAndRemove() async throws {
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("examples")
        let store = try Fixtures.store(state: state)
        let server = try ScriptedLLMServer(script: [])
        defer { server.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: store)
        let service = KendService(engine: engine, status: { Ken_V1_KendStatusReply() }, examples: store)
        let socket = state.appendingPathComponent("kend.sock").path
        let rpc = try await RPCServer.start(endpoint: .path(socket), handler: service)
        let client = try await KendClient.connect(path: socket)
        func call(_ request: Ken_V1_ExamplesRequest) async throws -> Ken_V1_KendResponse {
            try await client.call(.with { $0.examples = request })
        }

        let listed = try await call(.with { $0.action = .list })
        XCTAssertGreaterThanOrEqual(listed.examples.examples.count, 60, "the shipped corpus is listed")
        let corpusID = try XCTUnwrap(listed.examples.examples.first { $0.origin == "corpus" }?.id)

        let found = try await call(.with { $0.action = .search; $0.prompt = "which files does cat open"; $0.limit = 3 })
        XCTAssertEqual(found.examples.examples.count, 3)
        XCTAssertTrue(found.examples.examples[0].similarity > 0)

        let rejected = try await call(.with {
            $0.action = .add
            $0.prompt = "count reads"
            $0.program = "tracepoint:syscalls:sys_enter_nosuchcall { @ = count(); }"
        })
        XCTAssertEqual(rejected.status.code, .invalidArgument)
        XCTAssertTrue(rejected.status.detail.contains("sys_enter_nosuchcall"), rejected.status.detail)

        let added = try await call(.with {
            $0.action = .add
            $0.prompt = "count read calls per process name"
            $0.program = "tracepoint:syscalls:sys_enter_read { @reads[comm] = count(); }"
            $0.tags = ["files"]
        })
        XCTAssertEqual(added.status.code, .ok, added.status.message)
        let learnedID = try XCTUnwrap(added.examples.examples.first?.id)
        XCTAssertEqual(added.examples.examples.first?.origin, "learned")

        let corpusRemoval = try await call(.with { $0.action = .remove; $0.id = corpusID })
        XCTAssertEqual(corpusRemoval.status.code, .failedPrecondition)
        let unknown = try await call(.with { $0.action = .remove; $0.id = "no-such-example" })
        XCTAssertEqual(unknown.status.code, .notFound)
        let removed = try await call(.with { $0.action = .remove; $0.id = learnedID })
        XCTAssertEqual(removed.status.code, .ok)
        let after = try await call(.with { $0.action = .list })
        XCTAssertFalse(after.examples.examples.contains { $0.id == learnedID })
        await client.close()
        await rpc.shutdown()
    }
}
