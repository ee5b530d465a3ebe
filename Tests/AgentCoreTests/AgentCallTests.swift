import AgentCore
import Foundation
import KenProto
import KenRPC
import Registry
import XCTest

/// Calls that need no kernel program: authorization, validation, lookups — over a real socket.
final class AgentCallTests: XCTestCase {
    func startAgent(_ policy: AgentPolicy = AgentPolicy()) async throws -> TestAgent {
        let agent = try TestAgent(policy: policy)
        agent.rpcConfiguration.socketMode = 0o666  // let the other-uid test connect
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        return agent
    }

    func testUnknownIDsAreNotFoundAndMalformedRequestsInvalid() async throws {
        let agent = try await startAgent()
        let get = try await agent.get("000000000000")
        XCTAssertEqual(get.status.code, .notFound)
        XCTAssertFalse(get.status.hint.isEmpty)
        let detach = try await agent.detach("abcdefabcdef")
        XCTAssertEqual(detach.status.code, .notFound)
        let byName = try await agent.call { $0.detach = Ken_V1_DetachRequest.with { $0.name = "no-such-extension" } }
        XCTAssertEqual(byName.status.code, .notFound)
        let logs = try await agent.call { $0.logs = Ken_V1_LogsRequest.with { $0.id = "123456789abc" } }
        XCTAssertEqual(logs.status.code, .notFound)
        let traversal = try await agent.get("../../etc/passwd")
        XCTAssertEqual(traversal.status.code, .invalidArgument)
        let empty = try await agent.get("")
        XCTAssertEqual(empty.status.code, .invalidArgument)
        let noKind = try await agent.call { $0.attach = Ken_V1_AttachRequest.with { $0.programText = "BEGIN { exit(); }" } }
        XCTAssertEqual(noKind.status.code, .invalidArgument)
        let badPolicy = try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpftrace; $0.programText = "BEGIN { exit(); }"; $0.restartPolicy = "sometimes" }
        }
        XCTAssertEqual(badPolicy.status.code, .invalidArgument)
        let badName = try await agent.call {
            $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpftrace; $0.programText = "BEGIN { exit(); }"; $0.name = "a b\n" }
        }
        XCTAssertEqual(badName.status.code, .invalidArgument)
        let syntax = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { printf(\"x\" }")
        XCTAssertEqual(syntax.status.code, .invalidArgument)
        XCTAssertTrue(syntax.status.detail.contains(":1:"), syntax.status.detail)
        let notELF = try await agent.call { $0.attach = Ken_V1_AttachRequest.with { $0.kind = .bpfObject; $0.object = Data("hello".utf8) } }
        XCTAssertEqual(notELF.status.code, .invalidArgument)
        let noCall = try await agent.call { _ in }
        XCTAssertNotEqual(noCall.status.code, .ok)
        // Nothing of the above left a record behind.
        XCTAssertEqual(try agent.server?.service.registry.list(includeDetached: true).count, 0)
    }

    func testUnsafeBuiltinsAreRefusedNamingTheBuiltin() async throws {
        let agent = try await startAgent()
        for (builtin, script) in [
            ("system", "tracepoint:syscalls:sys_enter_getppid { system(\"id\"); }"),
            ("signal", "tracepoint:syscalls:sys_enter_getppid { signal(\"SIGKILL\"); }"),
            ("override", "kprobe:__x64_sys_getppid { override(0); }"),
        ] {
            let response = try await agent.attach(script)
            XCTAssertEqual(response.status.code, .permissionDenied, builtin)
            XCTAssertTrue(response.status.message.contains("\(builtin)()"), response.status.message)
            XCTAssertTrue(response.status.hint.contains("programs.allow"), response.status.hint)
        }
        let verify = try await agent.call {
            $0.verifyOnly = Ken_V1_VerifyOnlyRequest.with { $0.kind = .bpftrace; $0.programText = "BEGIN { system(\"id\"); }" }
        }
        XCTAssertEqual(verify.status.code, .permissionDenied)
        XCTAssertEqual(try agent.server?.service.registry.list(includeDetached: true).count, 0)
    }

    func testProbeKindsAndLimitsFromPolicy() async throws {
        var policy = AgentPolicy()
        policy.allowedProbeKinds = ["BEGIN"]
        policy.maxProgramBytes = 100
        let agent = try await startAgent(policy)
        let kind = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @x = count(); }")
        XCTAssertEqual(kind.status.code, .permissionDenied)
        XCTAssertTrue(kind.status.message.contains("tracepoint"), kind.status.message)
        let big = try await agent.attach("BEGIN { printf(\"" + String(repeating: "x", count: 200) + "\"); }")
        XCTAssertEqual(big.status.code, .resourceExhausted)
    }

    /// A real client running as `nobody` (uid 65534, via setpriv) sends a hand-framed Status
    /// request; the agent sees its uid through SO_PEERCRED and refuses.
    func testOtherUIDIsDeniedOverARealSocket() async throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run a client as another uid") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("needs /usr/bin/setpriv and /usr/bin/python3")
        }
        let agent = try await startAgent()
        // AgentRequest{id: 7, status: {}} = 08 07 52 00, framed with its varint length.
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(bytes([4, 0x08, 0x07, 0x52, 0x00]))
            def byte():
                b = s.recv(1)
                if not b: sys.exit(3)
                return b[0]
            n, shift = 0, 0
            while True:
                b = byte(); n |= (b & 0x7f) << shift; shift += 7
                if b < 0x80: break
            body = b''
            while len(body) < n:
                chunk = s.recv(n - len(body))
                if not chunk: sys.exit(4)
                body += chunk
            sys.stdout.write(body.hex())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, agent.socketPath]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let hex = String(decoding: data, as: UTF8.self)
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index != hex.endIndex {
            guard let byte = UInt8(hex[index..<next], radix: 16) else { break }
            bytes.append(byte)
            index = next
        }
        let response = try Ken_V1_AgentResponse(serializedBytes: bytes)
        XCTAssertEqual(response.id, 7)
        XCTAssertEqual(response.status.code, .permissionDenied)
        XCTAssertTrue(response.status.message.contains("65534"), response.status.message)
        XCTAssertFalse(response.status.hint.isEmpty)

        // The same call as root succeeds and reports root's credentials.
        let status = try await agent.call { $0.status = Ken_V1_AgentStatusRequest() }
        XCTAssertEqual(status.status.code, .ok)
        XCTAssertEqual(status.statusReply.peerUid, 0)
        XCTAssertEqual(status.statusReply.peerPid, getpid())
    }

    func testListLatencyWithThousandRegistryEntries() async throws {
        let agent = try await startAgent()
        guard let registry = agent.server?.service.registry else { return XCTFail() }
        for i in 0..<1000 {
            try registry.insert(ExtensionRecord(id: try registry.newID(), name: "e\(i)", ownerUID: 0, kind: .bpftrace,
                                                programText: "BEGIN { exit(); }", state: .failed, lastError: "synthetic"))
        }
        var samples: [Double] = []
        for _ in 0..<5 {
            let began = Date()
            let list = try await agent.call { $0.list = Ken_V1_ListRequest() }
            samples.append(Date().timeIntervalSince(began))
            XCTAssertEqual(list.list.extensions.count, 1000)
        }
        samples.sort()
        print("List with 1000 registry entries over the socket: median \(String(format: "%.1f", samples[2] * 1000)) ms")
        XCTAssertLessThan(samples[2], 2.0)
    }
}
