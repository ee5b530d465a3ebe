import AgentCore
import Foundation
import KenProto
import KenRPC
import TestSupport
import XCTest

/// Issue 14, finding "128 idle connections from one user lock root out": a real unprivileged
/// member of the attach group holds 130 connections to a real agent with default limits; root is
/// still served at once, the user's excess connections are refused by its per-user limit, and the
/// ones it holds without sending anything are closed after the short unused timeout.
final class PeerLimitTests: XCTestCase {
    func testHundredThirtyIdleConnectionsFromOneUserDoNotLockRootOut() async throws {
        let users = try TestUsers(self)
        let user = try users.add("a")
        var policy = AgentPolicy()
        policy.attach = Principals(users: ["root"], groups: [users.group])
        let agent = try TestAgent(policy: policy)
        agent.rpcConfiguration.socketMode = 0o666
        let limits = agent.rpcConfiguration
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }

        // Connects 130 times, says so, waits for a line on stdin, then reports how each
        // connection was answered (per-user refusal, unused timeout, or nothing).
        let script = """
            import socket, sys, select
            socks = []
            for i in range(130):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                socks.append(s)
            print("connected", flush=True)
            sys.stdin.readline()
            counts = {"peruid": 0, "unused": 0, "other": 0, "silent": 0}
            for s in socks:
                r, _, _ = select.select([s], [], [], 15)
                data = s.recv(4096) if r else b""
                if b"from uid" in data: counts["peruid"] += 1
                elif b"nothing sent" in data: counts["unused"] += 1
                elif data: counts["other"] += 1
                else: counts["silent"] += 1
            print(" ".join("%s=%d" % kv for kv in sorted(counts.items())), flush=True)
            """
        let holder = user.process("/usr/bin/python3", ["-c", script, agent.socketPath])
        let stdin = Pipe(), stdout = Pipe()
        holder.standardInput = stdin
        holder.standardOutput = stdout
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        let first = try XCTUnwrap(readLine(stdout.fileHandleForReading))
        XCTAssertEqual(first, "connected")
        let server = try XCTUnwrap(agent.server)
        _ = await eventually(timeout: 3) { server.connectionCount >= limits.maxConnectionsPerUID }

        // Root, on a fresh connection, while the user holds every connection it can.
        let began = ContinuousClock.now
        let root = try await AgentClient.connect(path: agent.socketPath)
        let status = try await root.call(.with { $0.status = .init() }, timeout: .seconds(5))
        await root.close()
        XCTAssertEqual(status.status.code, .ok, status.status.message)
        XCTAssertEqual(status.statusReply.peerUid, 0)
        XCTAssertLessThan(ContinuousClock.now - began, .seconds(2), "root is served at once")

        // Another member of the group is not locked out either.
        let other = try users.add("b")
        let listed = try other.kenc(["list", "--agent-socket", agent.socketPath])
        XCTAssertEqual(listed.status, 0, listed.stderr)

        stdin.fileHandleForWriting.write(Data("go\n".utf8))
        let summary = try XCTUnwrap(readLine(stdout.fileHandleForReading))
        holder.waitUntilExit()
        let counts = Dictionary(uniqueKeysWithValues: summary.split(separator: " ").compactMap { pair -> (String, Int)? in
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let n = Int(parts[1]) else { return nil }
            return (String(parts[0]), n)
        })
        XCTAssertEqual(counts["peruid"], 130 - limits.maxConnectionsPerUID, summary)
        XCTAssertEqual(counts["unused"], limits.maxConnectionsPerUID, "held connections that send nothing are closed: \(summary)")
    }

    private func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = handle.readData(ofLength: 1)
            guard let byte = chunk.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}
