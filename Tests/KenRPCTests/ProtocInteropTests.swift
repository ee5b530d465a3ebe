import Foundation
import KenProto
import KenRPC
import XCTest

/// Frames produced and read by protoc — an implementation that shares no code with ours.
final class ProtocInteropTests: XCTestCase {
    func testProtocEncodedRequestGetsAProtocDecodableAnswer() async throws {
        guard let protoc = findExecutable("protoc") else {
            throw XCTSkip("protoc is not installed (apt-get install protobuf-compiler); interop not checked")
        }
        let protoDir = repositoryRoot().appendingPathComponent("Proto").path
        guard FileManager.default.fileExists(atPath: protoDir + "/ken/v1/agent.proto") else {
            throw XCTSkip("Proto/ken/v1/agent.proto not found next to the tests (\(protoDir))")
        }
        let directory = try TemporaryDirectory(self)
        let handler = TestAgentHandler()
        let server = try await RPCServer.start(endpoint: .path(directory.file("agent.sock")), handler: handler)

        let text = """
        id: 7
        attach {
          name: "opens"
          kind: BPFTRACE
          program_text: "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"
          prompt: "count opens"
          restart: RESTART_POLICY_ALWAYS
        }
        """
        let encoded = try runProgram(protoc, ["--encode=ken.v1.AgentRequest", "-I", protoDir, "ken/v1/agent.proto"], input: Data(text.utf8))
        XCTAssertEqual(encoded.status, 0, encoded.stderr)
        let body = [UInt8](encoded.stdout)

        let raw = try RawSocket(connectTo: directory.file("agent.sock"))
        try raw.send(varint(UInt64(body.count)) + body)
        let answer = try XCTUnwrap(raw.readFrame(), "the server answers the protoc-encoded frame")

        // Our decoding of what the handler saw matches protoc's text.
        let seen = try XCTUnwrap(handler.recorder.requests.first)
        XCTAssertEqual(seen.id, 7)
        XCTAssertEqual(seen.attach.name, "opens")
        XCTAssertEqual(seen.attach.kind, .bpftrace)
        XCTAssertEqual(seen.attach.restart, .always)

        let decoded = try runProgram(protoc, ["--decode=ken.v1.AgentResponse", "-I", protoDir, "ken/v1/agent.proto"], input: Data(answer))
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        let output = String(decoding: decoded.stdout, as: UTF8.self)
        XCTAssertTrue(output.contains("id: 7"), output)
        XCTAssertTrue(output.contains("name: \"opens\""), output)
        XCTAssertTrue(output.contains("owner_uid: \(getuid())") || getuid() == 0, output)
        XCTAssertTrue(output.contains("restart: RESTART_POLICY_ALWAYS"), output)
        XCTAssertTrue(output.contains("state: ATTACHED"), output)
        XCTAssertFalse(output.contains("more: true"), output)

        // And a kend frame: status.
        let kendServer = try await RPCServer.start(endpoint: .path(directory.file("kend.sock")), handler: TestKendHandler())
        let kendRequest = try runProgram(protoc, ["--encode=ken.v1.KendRequest", "-I", protoDir, "ken/v1/kend.proto"], input: Data("id: 3 status {}".utf8))
        XCTAssertEqual(kendRequest.status, 0, kendRequest.stderr)
        let kendRaw = try RawSocket(connectTo: directory.file("kend.sock"))
        try kendRaw.send(varint(UInt64(kendRequest.stdout.count)) + [UInt8](kendRequest.stdout))
        let kendAnswer = try XCTUnwrap(kendRaw.readFrame())
        let kendDecoded = try runProgram(protoc, ["--decode=ken.v1.KendResponse", "-I", protoDir, "ken/v1/kend.proto"], input: Data(kendAnswer))
        let kendText = String(decoding: kendDecoded.stdout, as: UTF8.self)
        XCTAssertTrue(kendText.contains("id: 3") && kendText.contains("llm_model: \"test-model\""), kendText)

        await kendServer.shutdown()
        await server.shutdown()
    }
}
