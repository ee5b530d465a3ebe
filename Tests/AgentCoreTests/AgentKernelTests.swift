import Digest
import AgentCore
import Foundation
import KenProto
import KenRPC
import KernelLoader
import Registry
import XCTest

/// The agent end to end: real sockets, real bpftrace children, real kernel programs.
final class AgentKernelTests: XCTestCase {
    func testAttachListLogsDetach() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let marker = "ken-agent-test-\(Registry.randomID())"
        let began = Date()
        let attached = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { printf(\"\(marker) %d\\n\", pid); }", name: "ppid")
        let latency = Date().timeIntervalSince(began)
        XCTAssertEqual(attached.status.code, .ok, attached.status.message + "\n" + attached.status.detail)
        let ext = attached.attach.extension
        print("attach latency (bpftrace tracepoint, via socket): \(String(format: "%.0f", latency * 1000)) ms")
        XCTAssertEqual(ext.state, .attached)
        XCTAssertEqual(ext.name, "ppid")
        XCTAssertTrue(AgentService.isValidID(ext.id))
        XCTAssertGreaterThan(ext.pid, 0)
        XCTAssertFalse(ext.progIds.isEmpty)
        XCTAssertEqual(ext.probes, ["tracepoint:syscalls:sys_enter_getppid"])
        for prog in ext.progIds { XCTAssertTrue(ProgramTable.exists(id: prog), "prog \(prog) must be in the kernel") }

        // List, with --all: the kernel programs are there and marked as Ken's.
        let list = try await agent.call { $0.list = Ken_V1_ListRequest.with { $0.all = true } }
        XCTAssertEqual(list.status.code, .ok)
        XCTAssertEqual(list.list.extensions.map(\.id), [ext.id])
        XCTAssertGreaterThan(list.list.extensions[0].memlockBytes, 0)
        let marked = list.list.programs.filter { $0.extensionID == ext.id }.map(\.id)
        XCTAssertEqual(Set(marked), Set(ext.progIds))

        // Trigger the tracepoint; the output reaches Logs.
        let sawOutput = await eventually {
            _ = getppid()
            let logs = try? await agent.call { $0.logs = Ken_V1_LogsRequest.with { $0.id = ext.id } }
            return logs.map { $0.log.text.contains(marker) } ?? false
        }
        XCTAssertTrue(sawOutput, "the script's printf must reach Logs")

        // Follow streams new lines.
        guard let client = await agentClient(agent) else { return XCTFail("no client") }
        let follower = Task { () -> Bool in
            var request = Ken_V1_AgentRequest()
            request.logs = Ken_V1_LogsRequest.with { $0.id = ext.id; $0.follow = true; $0.tail = 1 }
            for try await response in client.stream(request) where response.log.text.contains(marker + " ") {
                if response.log.stream == "stdout" { return true }
            }
            return false
        }
        let deadline = Date().addingTimeInterval(10)
        let done = Task { () -> Bool in (try? await follower.value) ?? false }
        let timer = Task {
            while Date() < deadline, !Task.isCancelled {
                _ = getppid()
                try? await Task.sleep(for: .milliseconds(50))
            }
            follower.cancel()
        }
        let gotFollowed = await done.value
        timer.cancel()
        XCTAssertTrue(gotFollowed, "follow must stream the script's output")

        // Status counts it.
        let status = try await agent.call { $0.status = Ken_V1_AgentStatusRequest() }
        XCTAssertEqual(status.statusReply.extensionsAttached, 1)
        XCTAssertEqual(status.statusReply.peerUid, 0)
        XCTAssertTrue(status.statusReply.bpftraceVersion.contains("0."), status.statusReply.bpftraceVersion)

        // Detach removes it from the kernel.
        let detached = try await agent.detach(ext.id)
        XCTAssertEqual(detached.status.code, .ok, detached.status.message)
        XCTAssertEqual(detached.detach.extension.state, .detached)
        let gone = await eventually { ext.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone, "detached programs must leave the kernel")
        let afterDetach = try await agent.get(ext.id).get.extension.state
        XCTAssertEqual(afterDetach, .detached)
        // The name is free again.
        let again = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }", name: "ppid")
        XCTAssertEqual(again.status.code, .ok, again.status.message)
        // A second live extension with the same name is refused.
        let dup = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }", name: "ppid")
        XCTAssertEqual(dup.status.code, .invalidArgument)
    }

    private func agentClient(_ agent: TestAgent) async -> AgentClient? {
        try? await AgentClient.connect(path: agent.socketPath)
    }

    func testRestartAdoptsRunningBpftraceAndRestartsDeadOne() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let a = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @a = count(); }", name: "survivor").attach.extension
        let b = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @b = count(); }", name: "victim").attach.extension
        XCTAssertEqual(a.state, .attached)
        XCTAssertEqual(b.state, .attached)

        // The agent stops without detaching: both bpftrace children keep running.
        await agent.stop()
        XCTAssertEqual(kill(a.pid, 0), 0, "extensions stay attached when the agent stops")
        // While no agent runs, one extension dies.
        kill(b.pid, SIGKILL)
        _ = await eventually { kill(b.pid, 0) != 0 }

        let server = try await agent.start()
        let byID = Dictionary(uniqueKeysWithValues: server.outcomes.map { ($0.id, $0) })
        XCTAssertEqual(byID[a.id]?.action, .adopted, "\(server.outcomes)")
        XCTAssertEqual(byID[b.id]?.action, .restarted, "\(server.outcomes)")
        let a2 = try await agent.get(a.id).get.extension
        XCTAssertEqual(a2.state, .attached)
        XCTAssertEqual(a2.pid, a.pid)
        let b2 = try await agent.get(b.id).get.extension
        XCTAssertEqual(b2.state, .attached)
        XCTAssertNotEqual(b2.pid, b.pid)
        XCTAssertEqual(kill(b2.pid, 0), 0)
        // The adopted child is supervised: killing it now is noticed.
        kill(a.pid, SIGKILL)
        let failed = await eventually { (try? await agent.get(a.id).get.extension.state) == .failed }
        XCTAssertTrue(failed)
    }

    func testKilledBpftraceIsReportedFailedAndRestartedPerPolicy() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let plain = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { printf(\"tick\\n\"); }").attach.extension
        let began = Date()
        kill(plain.pid, SIGKILL)
        let failed = await eventually { (try? await agent.get(plain.id).get.extension.state) == .failed }
        print("bpftrace death noticed and recorded in \(String(format: "%.0f", Date().timeIntervalSince(began) * 1000)) ms")
        XCTAssertTrue(failed, "a killed bpftrace must be reported failed")
        let record = try await agent.get(plain.id).get.extension
        XCTAssertTrue(record.lastError.contains("signal 9"), record.lastError)
        XCTAssertEqual(record.pid, 0)
        // Default policy "no": it stays failed.
        try await Task.sleep(for: .milliseconds(500))
        let stillFailed = try await agent.get(plain.id).get.extension.state
        XCTAssertEqual(stillFailed, .failed)
        let logs = try await agent.call { $0.logs = Ken_V1_LogsRequest.with { $0.id = plain.id; $0.tail = 3 } }
        XCTAssertEqual(logs.status.code, .ok)

        // With on-failure it comes back with a new pid.
        let restarting = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @x = count(); }", restart: "on-failure").attach.extension
        XCTAssertEqual(restarting.restartPolicy, "on-failure")
        kill(restarting.pid, SIGKILL)
        let back = await eventually(timeout: 20) {
            guard let e = try? await agent.get(restarting.id).get.extension else { return false }
            return e.state == .attached && e.pid != restarting.pid && e.restarts == 1
        }
        XCTAssertTrue(back, "on-failure must restart a killed bpftrace")
    }

    func testBpftraceRejectionReturnsItsMessageIntact() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let response = try await agent.attach("tracepoint:syscalls:sys_enter_no_such_syscall_ken { @x = count(); }")
        XCTAssertEqual(response.status.code, .failedPrecondition)
        XCTAssertFalse(response.status.detail.isEmpty)
        XCTAssertTrue(response.status.detail.contains("sys_enter_no_such_syscall_ken"), response.status.detail)
        // The headline is the real cause, never bpftrace's harmless RLIMIT_MEMLOCK line.
        XCTAssertFalse(response.status.message.contains("RLIMIT_MEMLOCK"), response.status.message)
        XCTAssertTrue(response.status.message.contains("sys_enter_no_such_syscall_ken"), response.status.message)
        // A failed attach leaves nothing to detach by hand (issue 15, item 3): the list is empty,
        // while the record still explains the failure to `kenc show ID`.
        let list = try await agent.call { $0.list = Ken_V1_ListRequest() }
        XCTAssertEqual(list.list.extensions.map(\.id), [], "a program that never attached is not listed")
        let all = try await agent.call { $0.list = Ken_V1_ListRequest.with { $0.all = true } }
        XCTAssertFalse(all.list.extensions.contains { $0.state == .failed }, "nor listed as failed with --all")
    }

    func testObjectAttachDetachAndReloadAfterPinsVanish() async throws {
        try TestAgent.requireKernel()
        let bytes = try ObjectFixtures.compile(ObjectFixtures.good)
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let began = Date()
        let response = try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpfObject; $0.object = Data(bytes); $0.name = "obj" }
        }
        print("attach latency (BPF object, load + attach + pin, via socket): \(String(format: "%.0f", Date().timeIntervalSince(began) * 1000)) ms")
        XCTAssertEqual(response.status.code, .ok, response.status.message + "\n" + response.status.detail)
        let ext = response.attach.extension
        XCTAssertEqual(ext.state, .attached)
        XCTAssertEqual(ext.objectSha256, SHA256.hex(bytes))
        XCTAssertEqual(ext.pinDir, agent.pinRoot + "/" + ext.id)
        XCTAssertFalse(ext.linkIds.isEmpty)
        for prog in ext.progIds { XCTAssertTrue(ProgramTable.exists(id: prog)) }

        // Restart with pins intact: adopted.
        await agent.stop()
        var server = try await agent.start()
        XCTAssertEqual(server.outcomes.first { $0.id == ext.id }?.action, .adoptedPins)

        // Simulate a reboot: the pins vanish; the next agent loads the stored bytes again.
        await agent.stop()
        try ObjectLoader(pinRoot: agent.pinRoot).detach(extensionID: ext.id)
        _ = await eventually { ext.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        server = try await agent.start()
        XCTAssertEqual(server.outcomes.first { $0.id == ext.id }?.action, .restarted, "\(server.outcomes)")
        let reloaded = try await agent.get(ext.id).get.extension
        XCTAssertEqual(reloaded.state, .attached)
        XCTAssertNotEqual(reloaded.progIds, ext.progIds)
        for prog in reloaded.progIds { XCTAssertTrue(ProgramTable.exists(id: prog)) }

        let detached = try await agent.detach(ext.id)
        XCTAssertEqual(detached.status.code, .ok)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ext.pinDir))
        let gone = await eventually { reloaded.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone)
    }

    func testObjectVerifierErrorReturnsTheLog() async throws {
        try TestAgent.requireKernel()
        let bytes = try ObjectFixtures.compile(ObjectFixtures.unchecked)
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let response = try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpfObject; $0.object = Data(bytes) }
        }
        XCTAssertEqual(response.status.code, .failedPrecondition)
        XCTAssertTrue(response.status.detail.contains("map_value_or_null"), response.status.detail)
        let verify = try await agent.call {
            $0.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpfObject; $0.object = Data(bytes) }
        }
        XCTAssertEqual(verify.status.code, .ok)
        XCTAssertFalse(verify.verifyOnly.accepted)
        XCTAssertTrue(verify.verifyOnly.log.contains("map_value_or_null"), verify.verifyOnly.log)
        let goodBytes = Data(try ObjectFixtures.compile(ObjectFixtures.good))
        let good = try await agent.call {
            $0.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpfObject; $0.object = goodBytes }
        }
        XCTAssertTrue(good.verifyOnly.accepted, good.verifyOnly.log)
        XCTAssertEqual(good.verifyOnly.programs.count, 1)
    }
}
