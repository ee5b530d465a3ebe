import AgentCore
import Foundation
import KenProto
import KenRPC
import KernelLoader
import Registry
import XCTest

/// Agent restarts and stops: detach-on-stop, adopting a child the previous agent never recorded,
/// the always policy, and the end of a follow stream when the extension dies.
final class AgentLifecycleTests: XCTestCase {
    func testDetachOnStopRemovesExtensions() async throws {
        try TestAgent.requireKernel()
        var policy = AgentPolicy()
        policy.detachOnStop = true
        let agent = try TestAgent(policy: policy)
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let ext = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }").attach.extension
        XCTAssertEqual(ext.state, .attached)
        await agent.stop()
        XCTAssertNotEqual(kill(ext.pid, 0), 0, "detach_on_stop must stop the bpftrace child")
        let registry = try Registry(stateDirectory: agent.stateDirectory)
        XCTAssertEqual(try registry.get(id: ext.id)?.state, .detached)
        registry.close()
        let gone = await eventually { ext.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone)
    }

    /// The agent died after spawning bpftrace but before recording its pid: the record says
    /// `attaching` with no pid. The next agent finds the child by its script path and adopts it.
    func testUnrecordedChildIsFoundAndAdopted() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        addTeardownBlock { await agent.cleanUp() }
        let registry = try Registry(stateDirectory: agent.stateDirectory)
        let id = try registry.newID()
        let script = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n"
        try registry.insert(ExtensionRecord(id: id, name: "orphan", ownerUID: 0, kind: .bpftrace, programText: script, state: .attaching))
        registry.close()
        let orphan = try await BpftraceRunner().start(script: script, directory: agent.configuration.extensionDirectory(id: id))
        let server = try await agent.start()
        XCTAssertEqual(server.outcomes, [ReconcileOutcome(id: id, action: .adopted, reason: "bpftrace pid \(orphan.pid) still runs")])
        let record = try await agent.get(id).get.extension
        XCTAssertEqual(record.state, .attached)
        XCTAssertEqual(record.pid, orphan.pid)
        XCTAssertEqual(Set(record.progIds), Set(orphan.attachedProgramIDs))
        let detached = try await agent.detach(id)
        XCTAssertEqual(detached.status.code, .ok)
        let stopped = await eventually { kill(orphan.pid, 0) != 0 }
        XCTAssertTrue(stopped)
    }

    func testAlwaysRestartsEvenACleanExitAndFollowEndsWhenTheChildDies() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let ext = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }", restart: .always).attach.extension
        guard let client = try? await AgentClient.connect(path: agent.socketPath) else { return XCTFail("no client") }
        let follow = Task { () -> [Ken_V1_AgentResponse] in
            var request = Ken_V1_AgentRequest()
            request.logs = Ken_V1_LogsRequest.with { $0.id = ext.id; $0.follow = true; $0.tail = 1 }
            var all: [Ken_V1_AgentResponse] = []
            for try await response in client.stream(request) { all.append(response) }
            return all
        }
        try await Task.sleep(for: .milliseconds(300))
        // bpftrace exits cleanly on SIGTERM. A signal that lands while it is still setting up
        // can be lost on a loaded machine, and the follow would then wait forever: repeat it
        // (this test's own child) until the process is gone, for at most 20 s.
        for _ in 0..<200 where kill(ext.pid, 0) == 0 {
            kill(ext.pid, SIGTERM)
            try await Task.sleep(for: .milliseconds(100))
        }
        let responses = try await follow.value
        XCTAssertEqual(responses.last?.more, false)
        XCTAssertEqual(responses.last?.log.stream, "agent")
        XCTAssertTrue(responses.last?.log.text.contains("bpftrace") ?? false, "\(String(describing: responses.last))")
        let back = await eventually(timeout: 20) {
            guard let e = try? await agent.get(ext.id).get.extension else { return false }
            return e.state == .attached && e.pid != ext.pid && e.restarts == 1
        }
        XCTAssertTrue(back, "restart=always must bring it back")
        await client.close()
    }
}

final class AgentHousekeepingTests: XCTestCase {
    func testOldDetachedRecordsAndDirectoriesArePurgedAtStart() async throws {
        let agent = try TestAgent()
        agent.configuration.detachedRetentionSeconds = 3600
        addTeardownBlock { await agent.cleanUp() }
        let registry = try Registry(stateDirectory: agent.stateDirectory)
        let old = ExtensionRecord(id: try registry.newID(), name: "old", ownerUID: 0, kind: .bpftrace,
                                  programText: "BEGIN { exit(); }", state: .detached,
                                  createdUnixMs: Registry.nowUnixMs() - 7_200_000, changedUnixMs: Registry.nowUnixMs() - 7_200_000)
        let recent = ExtensionRecord(id: try registry.newID(), name: "recent", ownerUID: 0, kind: .bpftrace,
                                     programText: "BEGIN { exit(); }", state: .detached)
        try registry.insert(old)
        try registry.insert(recent)
        registry.close()
        let oldDirectory = agent.configuration.extensionDirectory(id: old.id)
        try FileManager.default.createDirectory(atPath: oldDirectory, withIntermediateDirectories: true)
        try "x\n".write(toFile: oldDirectory + "/stdout.log", atomically: true, encoding: .utf8)
        let server = try await agent.start()
        XCTAssertNil(try server.service.registry.get(id: old.id))
        XCTAssertNotNil(try server.service.registry.get(id: recent.id))
        XCTAssertFalse(FileManager.default.fileExists(atPath: oldDirectory))
    }
}
