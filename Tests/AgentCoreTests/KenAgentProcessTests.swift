import AgentCore
import Foundation
import KenProto
import KenRPC
import KernelLoader
import Registry
import XCTest

/// The ken-agent executable itself: sd_notify, watchdog, SIGTERM leaving extensions attached,
/// and socket activation.
final class KenAgentProcessTests: XCTestCase {
    var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ken-agent").path
    }

    func requireTools() throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("ken-agent is not built next to the tests (\(binary))") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("needs /usr/bin/python3 to receive sd_notify datagrams") }
    }

    /// A python3 process bound to a datagram socket that appends every notification to a file.
    func notifyReceiver(socket: String, output: String) throws -> Process {
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        receiver.arguments = ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sys.argv[1])
            with open(sys.argv[2], "a") as f:
                while True:
                    f.write(s.recv(4096).decode().replace("\\n", " ") + "\\n"); f.flush()
            """, socket, output]
        // Not the test's stdout: a leftover receiver holding it would keep `swift test` waiting.
        receiver.standardOutput = FileHandle.nullDevice
        receiver.standardError = FileHandle.nullDevice
        try receiver.run()
        return receiver
    }

    func agentProcess(_ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func testNotifyWatchdogAndSIGTERMKeepsExtensions() async throws {
        try requireTools()
        try TestAgent.requireKernel()
        let tag = Registry.randomID()
        let dir = NSTemporaryDirectory() + "ken-agent-proc-\(tag)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let socket = "/tmp/ken-agent-proc-\(tag).sock"
        let pinRoot = "/sys/fs/bpf/ken-proc-\(tag)"
        let notifyOut = dir + "/notify.txt"
        let receiver = try notifyReceiver(socket: dir + "/notify.sock", output: notifyOut)
        defer { kill(receiver.processIdentifier, SIGKILL); receiver.waitUntilExit() }
        _ = await eventually { FileManager.default.fileExists(atPath: dir + "/notify.sock") }
        let arguments = ["--socket", socket, "--state-dir", dir + "/state", "--config", dir + "/none.toml", "--pin-root", pinRoot]
        let environment = ["NOTIFY_SOCKET": dir + "/notify.sock", "WATCHDOG_USEC": "400000"]
        var agent = try agentProcess(arguments, environment: environment)
        // Generous: the agent publishes the tracefs mirror before READY, which takes 20 s on a loaded machine.
        let ready = await eventually(timeout: 120) { self.read(notifyOut).contains("READY=1") }
        XCTAssertTrue(ready, read(notifyOut))
        XCTAssertTrue(read(notifyOut).contains("STATUS=serving \(socket)"), read(notifyOut))

        let client = try await AgentClient.connect(path: socket)
        var request = Ken_V1_AgentRequest()
        request.attach = Ken_V1_AttachRequest.with {
            $0.kind = .bpftrace; $0.programText = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }"; $0.backend = .bpftrace
        }
        let attached = try await client.call(request, timeout: .seconds(60))
        XCTAssertEqual(attached.status.code, .ok, attached.status.message)
        let ext = attached.attach.extension
        XCTAssertGreaterThan(ext.pid, 0)
        // A native extension beside it: no process, its programs held by pins.
        request.id = 0
        request.attach = Ken_V1_AttachRequest.with {
            $0.kind = .bpftrace; $0.programText = "tracepoint:syscalls:sys_enter_getppid { @m = count(); }"; $0.name = "native"
        }
        let native = try await client.call(request, timeout: .seconds(60)).attach.extension
        let isNative = native.backend == .native
        if isNative { XCTAssertFalse(native.progIds.isEmpty) }
        await client.close()

        let pinged = await eventually { self.read(notifyOut).components(separatedBy: "WATCHDOG=1").count > 2 }
        XCTAssertTrue(pinged, "the watchdog must be pinged at half WATCHDOG_USEC")
        agent.terminate()  // SIGTERM
        agent.waitUntilExit()
        XCTAssertEqual(agent.terminationStatus, 0)
        XCTAssertTrue(read(notifyOut).contains("STOPPING=1"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the socket file is removed on stop")
        XCTAssertEqual(kill(ext.pid, 0), 0, "extensions stay attached when the agent stops")
        if isNative {
            for prog in native.progIds { XCTAssertTrue(ProgramTable.exists(id: prog), "a native extension outlives its agent process") }
        }

        // Socket activation: systemd-socket-activate binds the socket and passes it as fd 3.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
            kill(ext.pid, SIGTERM)
            throw XCTSkip("systemd-socket-activate is not installed")
        }
        let activated = Process()
        activated.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        activated.arguments = ["-l", socket, binary] + arguments.map { $0 == socket ? dir + "/unused.sock" : $0 }
        activated.standardError = FileHandle.nullDevice
        activated.standardOutput = FileHandle.nullDevice
        try activated.run()
        agent = activated
        _ = await eventually { FileManager.default.fileExists(atPath: socket) }
        let second = try await AgentClient.connect(path: socket)
        var get = Ken_V1_AgentRequest()
        get.get = Ken_V1_GetRequest.with { $0.id = ext.id }
        let adopted = try await second.call(get, timeout: .seconds(30))
        XCTAssertEqual(adopted.get.extension.state, .attached)
        XCTAssertEqual(adopted.get.extension.pid, ext.pid, "the restarted agent adopts the running child")
        if isNative {
            get.get = Ken_V1_GetRequest.with { $0.id = native.id }
            get.id = 0
            let adoptedNative = try await second.call(get, timeout: .seconds(30)).get.extension
            XCTAssertEqual(adoptedNative.state, .attached)
            XCTAssertEqual(adoptedNative.backend, .native)
            XCTAssertEqual(Set(adoptedNative.progIds), Set(native.progIds), "a new agent process adopts the pinned programs")
            var detachNative = Ken_V1_AgentRequest()
            detachNative.detach = Ken_V1_DetachRequest.with { $0.id = native.id }
            let nativeGone = try await second.call(detachNative, timeout: .seconds(30))
            XCTAssertEqual(nativeGone.detach.extension.state, .detached)
            let unloaded = await eventually { native.progIds.allSatisfy { !ProgramTable.exists(id: $0) } }
            XCTAssertTrue(unloaded, "detach unloads the adopted native programs")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/unused.sock"), "an activated agent serves the passed fd")
        var detach = Ken_V1_AgentRequest()
        detach.detach = Ken_V1_DetachRequest.with { $0.id = ext.id }
        let detached = try await second.call(detach, timeout: .seconds(30))
        XCTAssertEqual(detached.status.code, .ok)
        await second.close()
        agent.terminate()
        agent.waitUntilExit()
        XCTAssertEqual(agent.terminationStatus, 0)
        try? FileManager.default.removeItem(atPath: dir)
        unlink(socket)
        rmdir(pinRoot)
    }
}
