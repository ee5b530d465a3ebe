import AgentCore
import Foundation
import KenProto
import KenRPC
import KernelLoader
import Registry
import TestSupport
import XCTest

/// Issue 14, items 5 and 6, as a real unprivileged user (created by the test, member of the
/// policy's attach group) against a real ken-agent: a tightened policy applies at restart, and
/// kill -9 of the agent mid-attach or mid-detach leaves a state the next agent makes consistent.
final class CrashSafetyTests: XCTestCase {
    // MARK: - Policy at every start

    func testTightenedPolicyAtRestartStopsAndMarksTheExtensionRefused() async throws {
        try TestAgent.requireKernel()
        let users = try TestUsers(self)
        let user = try users.add("a")
        var policy = AgentPolicy()
        policy.attach = Principals(users: ["root"], groups: [users.group])
        policy.allowedUnsafeBuiltins = Set(UnsafeBuiltin.allCases)
        let agent = try TestAgent(policy: policy)
        agent.rpcConfiguration.socketMode = 0o666
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }

        // signal() never fires: the filter names a command that does not run.
        let script = try writeFile("signal.bt", """
            tracepoint:syscalls:sys_enter_getppid /comm == "ken-never-runs"/ { signal("SIGUSR1"); }
            """)
        let attached = try user.kenc(["attach", script, "--backend", "bpftrace", "--agent-socket", agent.socketPath])
        XCTAssertEqual(attached.status, 0, attached.stderr)
        let id = attached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try XCTUnwrap(agent.server?.service.registry.get(id: id, withObject: false))
        XCTAssertEqual(before.state, .attached)
        XCTAssertEqual(before.ownerUID, user.uid)
        XCTAssertEqual(kill(before.pid, 0), 0)

        // Restart with the unsafe builtins no longer allowed.
        await agent.stop()
        agent.configuration.policy.allowedUnsafeBuiltins = []
        let server = try await agent.start()
        let outcome = try XCTUnwrap(server.outcomes.first { $0.id == id })
        XCTAssertEqual(outcome.action, .refused, outcome.reason)
        let after = try XCTUnwrap(server.service.registry.get(id: id, withObject: false))
        XCTAssertEqual(after.state, .failed)
        XCTAssertTrue(after.lastError.hasPrefix("refused by policy: "), after.lastError)
        XCTAssertTrue(after.lastError.contains("signal"), after.lastError)
        let gone = await eventually(timeout: 10) { kill(before.pid, 0) != 0 }
        XCTAssertTrue(gone, "the refused bpftrace is stopped, not adopted")
        XCTAssertFalse(ExtensionSupervisorProbe.anyProcess(runningScript: agent.configuration.extensionDirectory(id: id) + "/script.bt"),
                       "nothing runs the script again (no relaunch with --unsafe)")

        // The owner sees why.
        let listed = try user.kenc(["list", "--agent-socket", agent.socketPath])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("refused"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("\(id): refused by policy: "), listed.stdout)
    }

    // MARK: - Process groups

    /// A command started by the extension's system() lives in bpftrace's process group; detach
    /// stops the group, so it does not survive.
    func testDetachStopsTheProcessesTheExtensionStarted() async throws {
        try TestAgent.requireKernel()
        var policy = AgentPolicy()
        policy.allowedUnsafeBuiltins = [.system]
        let agent = try TestAgent(policy: policy)
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        // A copy of sleep under a unique name: the only processes this test looks for or kills.
        let comm = "kpg" + Registry.randomID()
        let sleeper = NSTemporaryDirectory() + comm
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: sleeper)
        defer { try? FileManager.default.removeItem(atPath: sleeper) }
        let attached = try await agent.attach("BEGIN { system(\"\(sleeper) 600 >/dev/null 2>&1 &\"); }")
        XCTAssertEqual(attached.status.code, .ok, attached.status.message + attached.status.detail)
        let started = await eventually(timeout: 10) { !Self.pids(comm: comm).isEmpty }
        XCTAssertTrue(started, "system() started the command")
        let detached = try await agent.detach(attached.attach.extension.id)
        XCTAssertEqual(detached.status.code, .ok, detached.status.message)
        let gone = await eventually(timeout: 10) { Self.pids(comm: comm).isEmpty }
        XCTAssertTrue(gone, "processes the extension started are stopped with it")
        for pid in Self.pids(comm: comm) { kill(pid, SIGKILL) }
    }

    // MARK: - kill -9 mid-attach and mid-detach

    /// 20 programs on one tracepoint: attaching them pins 20 links one after the other.
    static func twentyPrograms() -> String {
        var source = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
        for i in 0..<20 {
            source += "SEC(\"tracepoint/syscalls/sys_enter_getppid\")\nint ken_p\(i)(void *ctx) { return 0; }\n"
        }
        return source + "char LICENSE[] SEC(\"license\") = \"GPL\";\n"
    }

    func testKillNineMidAttachOfTwentyProgramObjectIsFinishedOrRolledBack() async throws {
        try TestAgent.requireKernel()
        let object = try ObjectFixtures.compile(Self.twentyPrograms())
        let users = try TestUsers(self)
        let user = try users.add("a")
        let objectPath = try writeFile("twenty.o", object)
        var caught = false
        for _ in 0..<5 where !caught {
            let agent = try RestartableAgent(group: users.group)
            defer { agent.cleanUp() }
            try await agent.start()
            let kenc = user.process(TestBinaries.path("kenc"), ["attach", objectPath, "--agent-socket", agent.socket])
            let kencErr = Pipe()
            kenc.standardOutput = FileHandle.nullDevice
            kenc.standardError = kencErr
            try kenc.run()
            // Freeze the agent the moment some but not all programs are pinned, then kill it.
            var pinnedAtKill = -1
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, kenc.isRunning {
                let n = agent.pinCount()
                if n > 0 && n < 20 {
                    kill(agent.pid, SIGSTOP)
                    pinnedAtKill = agent.pinCount()
                    kill(agent.pid, SIGKILL)
                    break
                }
            }
            guard pinnedAtKill > 0 && pinnedAtKill < 20 else {
                // Missed the window (or the agent was frozen too late): start over.
                kill(agent.pid, SIGKILL)
                agent.waitForExit()
                kenc.waitUntilExit()
                print("missed the window: \(pinnedAtKill) pinned; kenc: \(String(decoding: kencErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
                continue
            }
            agent.waitForExit()
            kenc.waitUntilExit()
            caught = true
            let id = try XCTUnwrap(agent.extensionIDs().first)
            XCTAssertEqual(try agent.registry { try $0.get(id: id, withObject: false)?.state }, .attaching,
                           "killed mid-attach with \(pinnedAtKill) of 20 pinned")

            try await agent.start()
            let shown = try await agent.call(.with { $0.get = .with { $0.id = id } })
            let ext = shown.get.extension
            XCTAssertEqual(ext.state, .attached, ext.lastError)
            XCTAssertEqual(ext.progIds.count, 20, "all 20 programs, never a part (\(pinnedAtKill) were pinned at the kill)")
            XCTAssertEqual(agent.pinCount(), 20)
            XCTAssertTrue(ext.progIds.allSatisfy { ProgramTable.exists(id: $0) })
            let detached = try user.kenc(["detach", id, "--agent-socket", agent.socket])
            XCTAssertEqual(detached.status, 0, detached.stderr)
            XCTAssertEqual(agent.pinCount(), 0)
            await agent.stop()
        }
        if !caught { throw XCTSkip("five attaches finished before the agent could be frozen mid-way") }
    }

    /// The agent is killed while it waits for a detached bpftrace to stop (the child is frozen
    /// by the test so the detach cannot finish): the next agent completes the detach.
    func testKillNineMidDetachCompletesTheDetach() async throws {
        try TestAgent.requireKernel()
        let users = try TestUsers(self)
        let user = try users.add("a")
        let agent = try RestartableAgent(group: users.group)
        defer { agent.cleanUp() }
        try await agent.start()
        let script = try writeFile("count.bt", "tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n")
        let attached = try user.kenc(["attach", script, "--backend", "bpftrace", "--agent-socket", agent.socket])
        XCTAssertEqual(attached.status, 0, attached.stderr)
        let id = attached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = try await agent.call(.with { $0.get = .with { $0.id = id } })
        let pid = shown.get.extension.pid
        XCTAssertGreaterThan(pid, 0)
        await agent.closeClient()

        kill(pid, SIGSTOP)  // the extension's bpftrace, started by this test's agent
        let kenc = user.process(TestBinaries.path("kenc"), ["detach", id, "--agent-socket", agent.socket])
        kenc.standardOutput = FileHandle.nullDevice
        kenc.standardError = FileHandle.nullDevice
        try kenc.run()
        try await Task.sleep(for: .seconds(1))
        XCTAssertTrue(kenc.isRunning, "the detach waits for the frozen bpftrace")
        kill(agent.pid, SIGKILL)
        agent.waitForExit()
        kenc.waitUntilExit()
        XCTAssertEqual(try agent.registry { try $0.get(id: id, withObject: false)?.state }, .detaching,
                       "detaching is committed before anything is stopped")

        try await agent.start()
        let after = try await agent.call(.with { $0.get = .with { $0.id = id } })
        XCTAssertEqual(after.get.extension.state, .detached, "the extension does not come back")
        let gone = await eventually(timeout: 10) { kill(pid, 0) != 0 }
        XCTAssertTrue(gone, "its bpftrace is stopped")
        if !gone { kill(pid, SIGKILL) }
        await agent.stop()
    }

    // MARK: - Helpers

    func writeFile(_ name: String, _ text: String) throws -> String {
        try writeFile(name, [UInt8](text.utf8))
    }

    func writeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = NSTemporaryDirectory() + "ken-crash-\(Registry.randomID())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o644]) else {
            throw XCTSkip("cannot write \(path)")
        }
        return path
    }

    static func pids(comm: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry),
                  let text = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                  text.trimmingCharacters(in: .whitespacesAndNewlines) == comm else { return nil }
            return pid
        }
    }
}

enum ExtensionSupervisorProbe {
    static func anyProcess(runningScript path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).contains { entry in
            guard Int32(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == path }
        }
    }
}

/// The ken-agent executable as a separate process, so a test can kill -9 it, and start it again
/// on the same state directory and pin root. Its socket belongs to the test group, as the real
/// one belongs to group ken.
final class RestartableAgent: @unchecked Sendable {
    let directory: String
    let socket: String
    let pinRoot: String
    let group: String
    private var process: Process?
    private var client: AgentClient?

    init(group: String, policy: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: TestBinaries.path("ken-agent")) else {
            throw XCTSkip("ken-agent is not built next to the tests")
        }
        let tag = Registry.randomID()
        directory = NSTemporaryDirectory() + "ken-agent-proc-\(tag)"
        socket = "/tmp/ken-agent-proc-\(tag).sock"
        pinRoot = "/sys/fs/bpf/ken-proc-\(tag)"
        self.group = group
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = policy ?? "[attach]\nusers = [\"root\"]\ngroups = [\"\(group)\"]\n"
        try text.write(toFile: directory + "/agent.toml", atomically: true, encoding: .utf8)
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestBinaries.path("ken-agent"))
        process.arguments = ["--socket", socket, "--state-dir", directory + "/state", "--config", directory + "/agent.toml",
                             "--pin-root", pinRoot, "--kernel-facts", ""]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var connected: AgentClient?
        let deadline = Date().addingTimeInterval(60)
        while connected == nil, Date() < deadline, process.isRunning {
            connected = try? await AgentClient.connect(path: socket, timeout: .seconds(1))
            if connected == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let connected else { throw XCTSkip("ken-agent did not start serving \(socket)") }
        _ = try await connected.call(.with { $0.status = .init() }, timeout: .seconds(10))
        client = connected
        // The socket's group is the test group, like group ken for the real socket.
        _ = chown(socket, 0, getgrnam(group)?.pointee.gr_gid ?? 0)
    }

    func call(_ request: Ken_V1_AgentRequest) async throws -> Ken_V1_AgentResponse {
        guard let client else { throw XCTSkip("agent not started") }
        return try await client.call(request, timeout: .seconds(60))
    }

    func closeClient() async {
        await client?.close()
        client = nil
    }

    func waitForExit() {
        process?.waitUntilExit()
        client = nil
    }

    func stop() async {
        await closeClient()
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Pins under the (single) extension directory of this agent's pin root.
    func pinCount() -> Int {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: pinRoot)) ?? []
        return dirs.reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: pinRoot + "/" + $1))?.count ?? 0) }
    }

    func registry<T>(_ body: (Registry) throws -> T) throws -> T {
        let registry = try Registry(stateDirectory: directory + "/state")
        defer { registry.close() }
        return try body(registry)
    }

    func extensionIDs() throws -> [String] {
        try registry { try $0.list(includeDetached: true).map(\.id) }
    }

    /// Detaches what is left (pins included) and removes the files.
    func cleanUp() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        if let records = try? registry({ try $0.list() }) {
            for record in records where record.pid > 0 && record.kind == .bpftrace { kill(record.pid, SIGKILL) }
        }
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: pinRoot)) ?? [] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: pinRoot + "/" + dir)) ?? [] {
                unlink(pinRoot + "/" + dir + "/" + file)
            }
            rmdir(pinRoot + "/" + dir)
        }
        rmdir(pinRoot)
        unlink(socket)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
