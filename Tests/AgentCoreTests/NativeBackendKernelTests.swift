import AgentCore
import Foundation
import KenClient
import KenProto
import KenRPC
import KernelInfo
import KernelLoader
import NativeABI
import NativeRuntime
import Registry
import XCTest

/// The native backend through a real agent (issue #16, "Done when"): a script runs with no
/// bpftrace process, its output reaches Logs, its programs are in the kernel's program table
/// until detach; verify-only leaves nothing and runs no BEGIN; what the generator does not
/// support runs on bpftrace with the reason shown; `--backend bpftrace` forces bpftrace; a new
/// agent adopts a native extension; `exit()` ends it detached.
final class NativeBackendKernelTests: XCTestCase {
    /// Starts an agent for a native test; skips without root, tracefs or clang.
    func nativeAgent() async throws -> TestAgent {
        try TestAgent.requireKernel()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/clang") else {
            throw XCTSkip("clang is not installed: the native backend compiles generated C with it")
        }
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        return agent
    }

    /// Attaches with the native backend required; skips while the generator is the placeholder.
    func attachNative(_ agent: TestAgent, _ script: String, name: String = "") async throws -> Ken_V1_Extension {
        let reply = try await agent.attach(script, name: name, backend: .native)
        if reply.status.message.contains("not built yet") {
            throw XCTSkip("the native code generator is not merged yet: \(reply.status.message)")
        }
        XCTAssertEqual(reply.status.code, .ok, reply.status.message + "\n" + reply.status.detail)
        let ext = reply.attach.extension
        XCTAssertEqual(ext.backend, .native, "\(ext)")
        XCTAssertEqual(ext.backendReason, "")
        return ext
    }

    /// Processes whose parent is this test process and whose comm is bpftrace: the agent runs
    /// in-process, so any bpftrace child it spawned is one of these.
    func bpftraceChildren() -> [Int32] {
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let comm = stat[stat.index(after: open)..<close]
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            guard rest.count > 2, Int32(rest[1]) == me, comm == "bpftrace" else { return nil }
            return pid
        }
    }

    /// Everything Logs returns for the extension (its output; with `notes`, the agent's too).
    func logsText(_ agent: TestAgent, _ id: String, notes: Bool = false) async -> String {
        guard let client = try? await AgentClient.connect(path: agent.socketPath) else { return "" }
        var text = ""
        var request = Ken_V1_AgentRequest()
        request.logs = Ken_V1_LogsRequest.with { $0.id = id; $0.notes = notes }
        do {
            for try await response in client.stream(request) { text += response.log.text + "\n" }
        } catch {
            text += "(logs failed: \(error))\n"
        }
        await client.close()
        return text
    }

    /// bpftool's view of a program id (the "its program in bpftool prog list").
    func bpftoolShows(_ id: UInt32) -> Bool? {
        let bpftool = ["/usr/sbin/bpftool", "/usr/bin/bpftool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let bpftool else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bpftool)
        process.arguments = ["prog", "show", "id", String(id)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    func testNativeAttachRunsWithoutBpftraceLogsAndDetachRemovesIt() async throws {
        let agent = try await nativeAgent()
        let marker = "ken-native-\(Registry.randomID())"
        let began = ContinuousClock.now
        let ext = try await attachNative(agent, "tracepoint:syscalls:sys_enter_getppid { printf(\"\(marker) %d\\n\", pid); }", name: "native-ppid")
        let attachTime = ContinuousClock.now - began
        XCTAssertEqual(ext.state, .attached)
        XCTAssertEqual(ext.pid, 0, "no bpftrace process runs a native extension")
        XCTAssertFalse(ext.progIds.isEmpty)
        XCTAssertEqual(bpftraceChildren(), [], "no bpftrace child may run")
        for prog in ext.progIds {
            XCTAssertTrue(ProgramTable.exists(id: prog), "prog \(prog) must be in the kernel")
            if let shown = bpftoolShows(prog) { XCTAssertTrue(shown, "bpftool prog show id \(prog)") }
        }
        let list = try await agent.call { $0.list = Ken_V1_ListRequest.with { $0.all = true } }
        XCTAssertEqual(list.list.extensions.first { $0.id == ext.id }?.backend, .native)
        XCTAssertEqual(Set(list.list.programs.filter { $0.extensionID == ext.id }.map(\.id)), Set(ext.progIds))
        XCTAssertTrue(AgentFormatting.show(ext, now: AgentFormatting.nowUnixMs()).contains("backend:    native\n"))

        let sawOutput = await eventually {
            _ = getppid()
            return await logsText(agent, ext.id).contains("\(marker) \(getpid())")
        }
        XCTAssertTrue(sawOutput, "the native printf must reach Logs as bpftrace would print it")

        // Follow streams new lines from stdout.log.
        let client = try await AgentClient.connect(path: agent.socketPath)
        let follower = Task { () -> Bool in
            var request = Ken_V1_AgentRequest()
            request.logs = Ken_V1_LogsRequest.with { $0.id = ext.id; $0.follow = true; $0.tail = 1 }
            for try await response in client.stream(request) where response.log.stream == "stdout" && response.log.text.contains(marker) {
                return true
            }
            return false
        }
        let pump = Task {
            for _ in 0..<200 where !Task.isCancelled {
                _ = getppid()
                try? await Task.sleep(for: .milliseconds(50))
            }
            follower.cancel()
        }
        let followed = (try? await follower.value) ?? false
        pump.cancel()
        await client.close()
        XCTAssertTrue(followed, "kenc logs -f must stream a native extension's output")
        XCTAssertEqual(bpftraceChildren(), [], "no bpftrace child may run")

        let detachBegan = ContinuousClock.now
        let detached = try await agent.detach(ext.id)
        let detachTime = ContinuousClock.now - detachBegan
        XCTAssertEqual(detached.status.code, .ok, detached.status.message)
        XCTAssertEqual(detached.detach.extension.state, .detached)
        let gone = await eventually { ext.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone, "detached native programs must leave the kernel")
        XCTAssertFalse(FileManager.default.fileExists(atPath: agent.configuration.pinDirectory(id: ext.id)), "pins must be removed")
        print("native through the agent: attach \(attachTime), detach \(detachTime)")
    }

    func testNativeVerifyOnlyLeavesNothingAndRunsNoBegin() async throws {
        let agent = try await nativeAgent()
        let marker = "ken-native-begin-\(Registry.randomID())"
        let script = """
            BEGIN { printf("\(marker)\\n"); }
            tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); printf("\(marker) %d\\n", pid); }
            """
        let before = Date()
        let reply = try await agent.call {
            $0.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpftrace; $0.programText = script }
        }
        XCTAssertEqual(reply.status.code, .ok, reply.status.message)
        let verdict = reply.verifyOnly
        if verdict.backendReason.contains("not built yet") {
            throw XCTSkip("the native code generator is not merged yet: \(verdict.backendReason)")
        }
        XCTAssertEqual(verdict.backend, .native, verdict.backendReason)
        XCTAssertTrue(verdict.accepted, verdict.log)
        XCTAssertFalse(verdict.programs.isEmpty)
        XCTAssertEqual(bpftraceChildren(), [], "a native verify-only runs no bpftrace")
        _ = getppid()
        // Every program it loaded is gone: none of its names was loaded since the call began
        // (so no link can hold one either: a link keeps its program loaded).
        let names = Set(verdict.programs.compactMap { $0.split(separator: " ").first.map(String.init) })
        let left = ((try? ProgramTable.all()) ?? []).filter { names.contains($0.name) && $0.loadedAt >= before.addingTimeInterval(-1) }
        XCTAssertEqual(left.map(\.id), [], "verify-only must unload every program it loaded")
        // Nothing pinned, nothing recorded, no output anywhere in the agent's state.
        let pins = (try? FileManager.default.contentsOfDirectory(atPath: agent.pinRoot)) ?? []
        XCTAssertEqual(pins, [])
        XCTAssertEqual(try agent.server?.service.registry.list(includeDetached: true).count, 0)
        let enumerator = FileManager.default.enumerator(atPath: agent.stateDirectory)
        while let file = enumerator?.nextObject() as? String {
            let data = FileManager.default.contents(atPath: agent.stateDirectory + "/" + file) ?? Data()
            XCTAssertNil(data.range(of: Data(marker.utf8)), "\(file) holds output: BEGIN or a probe body ran")
        }

        // Rejected by the kernel verifier: the log comes back intact, and it is still native.
        let kenc = AgentFormatting.dryRun(verdict, kind: .bpftrace)
        XCTAssertTrue(kenc.hasPrefix("accepted (native: "), kenc)
    }

    func testUnsupportedScriptFallsBackToBpftraceWithTheReasonShown() async throws {
        let agent = try await nativeAgent()
        let reply = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @[ustack] = count(); }", name: "ustacks", backend: .unspecified)
        XCTAssertEqual(reply.status.code, .ok, reply.status.message + "\n" + reply.status.detail)
        let ext = reply.attach.extension
        XCTAssertEqual(ext.backend, .bpftrace)
        XCTAssertFalse(ext.backendReason.isEmpty, "the fallback says why")
        if !ext.backendReason.contains("not built yet") {
            XCTAssertTrue(ext.backendReason.contains("ustack"), ext.backendReason)
        }
        XCTAssertGreaterThan(ext.pid, 0, "a bpftrace child runs it")
        XCTAssertTrue(bpftraceChildren().contains(ext.pid))
        XCTAssertTrue(AgentFormatting.show(ext, now: AgentFormatting.nowUnixMs()).contains("backend:    bpftrace (\(ext.backendReason))\n"))
        let list = try await agent.call { $0.list = Ken_V1_ListRequest() }
        let listed = try XCTUnwrap(list.list.extensions.first { $0.id == ext.id })
        XCTAssertTrue(AgentFormatting.list(list.list, all: false, now: AgentFormatting.nowUnixMs()).contains("bpftrace  bpftrace  attached"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AgentJSON.object(listed).render().utf8)) as? [String: Any])
        XCTAssertEqual(json["backend"] as? String, "bpftrace")
        XCTAssertEqual(json["backend_reason"] as? String, ext.backendReason)
        let notes = await logsText(agent, ext.id, notes: true)
        XCTAssertTrue(notes.contains("runs on bpftrace: \(ext.backendReason)"), notes)

        // Required native, the same script is refused with the reason and nothing is recorded.
        let strict = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @[ustack] = count(); }", name: "strict", backend: .native)
        XCTAssertEqual(strict.status.code, .failedPrecondition)
        XCTAssertTrue(strict.status.message.contains("cannot run on the native backend"), strict.status.message)
        XCTAssertNil(try agent.server?.service.registry.get(name: "strict", withObject: false))
    }

    func testBackendBpftraceForcesABpftraceChild() async throws {
        let agent = try await nativeAgent()
        let reply = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }", name: "forced", backend: .bpftrace)
        XCTAssertEqual(reply.status.code, .ok, reply.status.message)
        let ext = reply.attach.extension
        XCTAssertEqual(ext.backend, .bpftrace)
        XCTAssertEqual(ext.backendReason, "requested with --backend bpftrace")
        XCTAssertGreaterThan(ext.pid, 0)
        XCTAssertTrue(bpftraceChildren().contains(ext.pid))
        // A backend for an object is a usage error.
        let object = try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpfObject; $0.object = Data([0x7F, 0x45, 0x4C, 0x46]); $0.backend = .native }
        }
        XCTAssertEqual(object.status.code, .invalidArgument)
    }

    func testNewAgentAdoptsANativeExtensionAndRegeneratesItAfterAReboot() async throws {
        let agent = try await nativeAgent()
        let marker = "ken-native-adopt-\(Registry.randomID())"
        let ext = try await attachNative(agent, "tracepoint:syscalls:sys_enter_getppid { printf(\"\(marker) %d\\n\", pid); }", name: "adoptee")
        await agent.stop()
        for prog in ext.progIds { XCTAssertTrue(ProgramTable.exists(id: prog), "a native extension outlives the agent") }

        let server = try await agent.start()
        let outcome = server.outcomes.first { $0.id == ext.id }
        XCTAssertEqual(outcome?.action, .adoptedPins, "\(server.outcomes)")
        let adopted = try await agent.get(ext.id).get.extension
        XCTAssertEqual(adopted.state, .attached)
        XCTAssertEqual(adopted.backend, .native)
        XCTAssertEqual(Set(adopted.progIds), Set(ext.progIds))
        let flows = await eventually {
            _ = getppid()
            return await logsText(agent, ext.id).contains(marker)
        }
        XCTAssertTrue(flows, "the adopted extension's output reaches Logs")
        XCTAssertEqual(bpftraceChildren(), [])

        // A reboot into another kernel: bpffs is empty, and the stored object was built for a
        // release that no longer runs. The new agent generates it again and starts it.
        await agent.stop()
        NativeExtension.removePins(id: ext.id, pinRoot: agent.pinRoot)
        XCTAssertFalse(FileManager.default.fileExists(atPath: agent.configuration.pinDirectory(id: ext.id)))
        do {
            let registry = try Registry(stateDirectory: agent.stateDirectory)
            var artifact = try XCTUnwrap(try registry.nativeArtifact(id: ext.id))
            XCTAssertFalse(artifact.cSource.isEmpty)
            XCTAssertEqual(artifact.object.prefix(4), [0x7F, 0x45, 0x4C, 0x46])
            artifact.kernelRelease = "0.0.0-an-older-kernel"
            try registry.setNativeArtifact(id: ext.id, artifact)
            registry.close()
        }
        let rebooted = try await agent.start()
        XCTAssertEqual(rebooted.outcomes.first { $0.id == ext.id }?.action, .restarted, "\(rebooted.outcomes)")
        let restarted = try await agent.get(ext.id).get.extension
        XCTAssertEqual(restarted.state, .attached)
        XCTAssertEqual(restarted.backend, .native)
        XCTAssertFalse(restarted.progIds.isEmpty)
        for prog in restarted.progIds { XCTAssertTrue(ProgramTable.exists(id: prog)) }
        let notes = await logsText(agent, ext.id, notes: true)
        XCTAssertTrue(notes.contains("built for kernel 0.0.0-an-older-kernel"), notes)
        let regenerated = try XCTUnwrap(try rebooted.service.registry.nativeArtifact(id: ext.id))
        XCTAssertEqual(regenerated.kernelRelease, KernelInfo.runningRelease())

        // Detach works on the restarted one.
        let detached = try await agent.detach(ext.id)
        XCTAssertEqual(detached.detach.extension.state, .detached)
        let gone = await eventually { restarted.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone)
    }

    func testExitEndsANativeExtensionDetachedWithANote() async throws {
        let agent = try await nativeAgent()
        let marker = "ken-native-exit-\(Registry.randomID())"
        let ext = try await attachNative(agent, "tracepoint:syscalls:sys_enter_getppid { printf(\"\(marker)\\n\"); exit(); }", name: "once")
        let ended = await eventually {
            _ = getppid()
            return (try? await agent.get(ext.id).get.extension.state) == .detached
        }
        XCTAssertTrue(ended, "exit() must end the extension detached")
        let logs = await logsText(agent, ext.id, notes: true)
        XCTAssertTrue(logs.contains(marker), logs)
        XCTAssertTrue(logs.contains("detached: the program called exit()"), logs)
        let gone = await eventually { ext.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(gone, "an exited extension leaves the kernel")
        XCTAssertFalse(FileManager.default.fileExists(atPath: agent.configuration.pinDirectory(id: ext.id)))
    }

    func testNativeReplacementIsMakeBeforeBreak() async throws {
        let agent = try await nativeAgent()
        let first = try await attachNative(agent, "tracepoint:syscalls:sys_enter_getppid { @a = count(); }", name: "fleet-native")
        let second = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @b = count(); }", name: "fleet-native",
                                            backend: .native, replacing: first.id)
        XCTAssertEqual(second.status.code, .ok, second.status.message)
        XCTAssertEqual(second.attach.extension.name, "fleet-native")
        XCTAssertEqual(second.attach.extension.backend, .native)
        let oldState = try await agent.get(first.id).get.extension.state
        XCTAssertEqual(oldState, .detached)
        let oldGone = await eventually { first.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(oldGone)
        for prog in second.attach.extension.progIds { XCTAssertTrue(ProgramTable.exists(id: prog)) }

        // Detach-all (package removal) stops native extensions too, with no agent serving.
        await agent.stop()
        let result = try await AgentServer.detachEverything(configuration: agent.configuration, reason: "test detach-all")
        XCTAssertEqual(result.detached, [second.attach.extension.id])
        let allGone = await eventually { second.attach.extension.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertTrue(allGone, "detach-all must remove native programs")
    }

    /// The policy binds native programs as it binds bpftrace ones: signal() needs its
    /// capability at attach, and a policy tightened before an agent restart stops the native
    /// extension instead of adopting it.
    func testPolicyAtEveryStartAppliesToNativeExtensions() async throws {
        try TestAgent.requireKernel()
        let script = "tracepoint:syscalls:sys_enter_getppid /comm == \"ken-never-runs\"/ { signal(\"SIGUSR1\"); }"
        let strict = try TestAgent()
        try await strict.start()
        addTeardownBlock { await strict.cleanUp() }
        let refused = try await strict.attach(script, backend: .native)
        XCTAssertEqual(refused.status.code, .permissionDenied, refused.status.message)
        XCTAssertTrue(refused.status.message.contains("signal"), refused.status.message)
        await strict.stop()

        var policy = AgentPolicy()
        policy.allowedUnsafeBuiltins = [.signal]
        let agent = try TestAgent(policy: policy)
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let ext = try await attachNative(agent, script, name: "signaller")
        await agent.stop()
        agent.configuration.policy.allowedUnsafeBuiltins = []
        let server = try await agent.start()
        let outcome = try XCTUnwrap(server.outcomes.first { $0.id == ext.id })
        XCTAssertEqual(outcome.action, .refused, outcome.reason)
        let after = try XCTUnwrap(server.service.registry.get(id: ext.id, withObject: false))
        XCTAssertEqual(after.state, .failed)
        XCTAssertTrue(after.lastError.contains("signal"), after.lastError)
        XCTAssertFalse(NativeExtension.isPinned(id: ext.id, pinRoot: agent.pinRoot), "the refused extension's pins are removed")
    }
}
