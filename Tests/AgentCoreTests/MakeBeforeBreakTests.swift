import AgentCore
import Foundation
import KenProto
import Registry
import XCTest

/// Fleet updates replace an extension make-before-break: the old version runs until the new one
/// is attached, stays if the new one fails, and a half-done replacement is finished at restart.
final class MakeBeforeBreakTests: XCTestCase {
    let counter = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }"

    func attach(_ agent: TestAgent, _ script: String, replacing old: String = "") async throws -> Ken_V1_AgentResponse {
        try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with {
                $0.kind = .bpftrace
                $0.programText = script
                $0.name = "fleet-x"
                $0.replacesID = old
                // These tests watch the bpftrace children; the native replacement has its own
                // test (NativeBackendKernelTests.testNativeReplacementIsMakeBeforeBreak).
                $0.backend = .bpftrace
            }
        }
    }

    func testTheOldVersionRunsUntilTheNewOneIsAttachedAndStaysWhenItFails() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }

        let first = try await attach(agent, counter)
        XCTAssertEqual(first.status.code, .ok, first.status.message)
        let old = first.attach.extension

        // A replacement under the same name: attached, then the old one is detached.
        let second = try await attach(agent, "tracepoint:syscalls:sys_enter_getppid { @m = count(); }", replacing: old.id)
        XCTAssertEqual(second.status.code, .ok, second.status.message)
        let new = second.attach.extension
        XCTAssertEqual(new.name, "fleet-x", "the replacement takes the name once the old one is gone")
        XCTAssertEqual(new.state, .attached)
        let oldState = try await agent.get(old.id).get.extension.state
        XCTAssertEqual(oldState, .detached)
        let oldGone = await eventually { kill(old.pid, 0) != 0 }
        XCTAssertTrue(oldGone, "the replaced bpftrace is stopped")

        // A replacement that cannot attach: the running version is kept, name and process.
        let broken = try await attach(agent, "tracepoint:syscalls:sys_enter_getppid { @x = count(); } tracepoint:nosuchcategory:nosuchevent { @y = count(); }",
                                      replacing: new.id)
        XCTAssertNotEqual(broken.status.code, .ok)
        let kept = try await agent.get(new.id).get.extension
        XCTAssertEqual(kept.state, .attached)
        XCTAssertEqual(kept.name, "fleet-x")
        XCTAssertEqual(kill(new.pid, 0), 0, "the running version keeps running")
    }

    func testAReplacementLeftHalfDoneByACrashIsFinishedAtRestart() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let old = try await attach(agent, counter).attach.extension
        await agent.stop()

        // What a crash between "new attached" and "old detached" leaves: both live, the new one
        // under its transitional name.
        let registry = try Registry(stateDirectory: agent.stateDirectory)
        let id = try registry.newID()
        try registry.insert(ExtensionRecord(id: id, name: "fleet-x~\(id)", ownerUID: 0, kind: .bpftrace,
                                            programText: counter + "\n", state: .attaching))
        registry.close()

        let server = try await agent.start()
        XCTAssertTrue(server.outcomes.contains { $0.id == id && $0.action == .replacementCompleted }, "\(server.outcomes)")
        let new = try await agent.get(id).get.extension
        XCTAssertEqual(new.state, .attached)
        XCTAssertEqual(new.name, "fleet-x")
        let oldState = try await agent.get(old.id).get.extension.state
        XCTAssertEqual(oldState, .detached)
        let oldGone = await eventually { kill(old.pid, 0) != 0 }
        XCTAssertTrue(oldGone)
    }
}

/// kend run by root (scripts/ken-demo) forwards its caller like kend run as `ken`: the agent
/// accepts on_behalf_of from root and records the end user as owner.
final class RootOnBehalfOfTests: XCTestCase {
    func testRootMayActOnBehalfOfAUser() async throws {
        try TestAgent.requireKernel()
        var policy = AgentPolicy()
        policy.attach = Principals(users: ["root", "65534"], groups: [])
        let agent = try TestAgent(policy: policy)
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let response = try await agent.call {
            $0.onBehalfOf = Ken_V1_OnBehalfOf.with { $0.uid = 65534; $0.gid = 65534; $0.pid = getpid() }
            $0.attach = Ken_V1_AttachRequest.with {
                $0.kind = .bpftrace
                $0.programText = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }"
            }
        }
        XCTAssertEqual(response.status.code, .ok, response.status.message)
        XCTAssertEqual(response.attach.extension.ownerUid, 65534, "the end user owns what root attached for them")
    }
}
