import AgentCore
import Foundation
import KendCore
import Pipeline
import KenProto
import KenRPC
import LLM
import TestSupport
import XCTest

/// Issue 14, item 7, with real users created by the test, a real agent and kend on real sockets:
/// kend acts on behalf of its caller (the agent records the caller as owner), only the kend user
/// may claim to, owners see and detach their own extensions, others get the same answer for an
/// extension that exists and one that does not, and kend's admin-only calls are refused to users.
final class KendOwnershipTests: XCTestCase {
    static let program = """
        tracepoint:syscalls:sys_enter_getppid
        {
          @calls[comm] = count();
        }
        """

    func testExtensionsMadeThroughKendBelongToTheCallerAndOnlyTheCallerSeesThem() async throws {
        guard getuid() == 0 else { throw XCTSkip("not root: ken-agent cannot load programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bpftrace") else { throw XCTSkip("bpftrace is not installed") }
        let kernel = try Fixtures.requireTracefs()
        let users: TestUsers
        do { users = try TestUsers() } catch let error as TestUsersUnavailable { throw XCTSkip(error.description) }
        addTeardownBlock { users.remove() }
        let alice = try users.add("a"), bob = try users.add("b")
        let state = try Fixtures.temporaryDirectory("ownership")

        // The agent: the test group may attach; kend runs in this process, as root, so root is
        // the kend user the policy names.
        var policy = AgentPolicy()
        policy.attach = Principals(users: ["root"], groups: [users.group])
        policy.kendUser = "root"
        let agentSocket = state.appendingPathComponent("agent.sock").path
        var rpc = RPCServerConfiguration()
        rpc.socketMode = 0o666
        let agent = try await AgentServer.start(
            configuration: AgentConfiguration(stateDirectory: state.appendingPathComponent("agent").path, policy: policy,
                                              pinRoot: "/sys/fs/bpf/ken-test-own-\(getpid())"),
            endpoint: .path(agentSocket), rpcConfiguration: rpc)
        // kend: the test group may synthesize; only root administers.
        let llm = try ScriptedLLMServer(script: [.completion(Fixtures.reply(Self.program))])
        defer { llm.stop() }
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(llm)), kernel: kernel,
                                     state: state, store: nil, gate: AgentGate(agent: AgentEndpoint(socketPath: agentSocket)))
        let access = KendAccess(users: .init(groups: [users.group]), admins: .init(users: ["root"]))
        let kendSocket = state.appendingPathComponent("kend.sock").path
        let store = try Fixtures.store(state: state.appendingPathComponent("examples"))
        let kend = try await RPCServer.start(
            endpoint: .path(kendSocket),
            handler: KendService(engine: engine, status: { Ken_V1_KendStatusReply() },
                                 applier: FleetApplier(engine: engine, agent: AgentEndpoint(socketPath: agentSocket)), examples: store, access: access),
            configuration: rpc)
        defer {
            let agentRef = agent
            Task { await kend.shutdown(); await agentRef.shutdown() }
        }

        // Alice synthesizes and attaches through kend.
        let synth = try alice.kenc(["synth", "count getppid calls per command", "--attach", "--name", "ownership-test",
                                    "--kend-socket", kendSocket])
        XCTAssertEqual(synth.status, 0, synth.stdout + synth.stderr)
        let record = try XCTUnwrap(agent.service.registry.list().first { $0.name == "ownership-test" })
        XCTAssertEqual(record.ownerUID, alice.uid, "the caller, not kend, owns what kend attached for her")
        let notes = try alice.kenc(["logs", record.id, "--notes", "--agent-socket", agentSocket])
        XCTAssertEqual(notes.status, 0, notes.stderr)
        XCTAssertTrue(notes.stdout.contains("through kend (uid 0"), "kend stays visible as the path: \(notes.stdout)")
        XCTAssertEqual(try alice.kenc(["show", record.id, "--agent-socket", agentSocket]).status, 0)
        XCTAssertTrue(try alice.kenc(["list", "--agent-socket", agentSocket]).stdout.contains(record.id))

        // Bob sees nothing of it, and cannot tell it from an id that does not exist.
        XCTAssertFalse(try bob.kenc(["list", "--agent-socket", agentSocket]).stdout.contains(record.id))
        let missing = "0123456789ab"
        for verb in ["show", "logs", "detach"] {
            let existing = try bob.kenc([verb, record.id, "--agent-socket", agentSocket])
            let absent = try bob.kenc([verb, missing, "--agent-socket", agentSocket])
            XCTAssertNotEqual(existing.status, 0, "\(verb): \(existing.stdout)")
            XCTAssertEqual(existing.status, absent.status, verb)
            XCTAssertEqual(existing.stderr.replacingOccurrences(of: record.id, with: "ID"),
                           absent.stderr.replacingOccurrences(of: missing, with: "ID"), "\(verb): the same answer either way")
        }
        XCTAssertEqual(try agent.service.registry.get(id: record.id, withObject: false)?.state, .attached)

        // Only kend's user may speak for someone else: Bob claiming to be Alice is refused.
        var forged = Ken_V1_AgentRequest()
        forged.id = 1
        forged.detach = .with { $0.id = record.id }
        forged.onBehalfOf = .with { $0.uid = alice.uid; $0.gid = alice.gid }
        let answer = try Ken_V1_AgentResponse(serializedBytes: try sendRaw(try forged.serializedBytes(), as: bob, to: agentSocket))
        XCTAssertEqual(answer.status.code, .permissionDenied, answer.status.message)
        XCTAssertEqual(try agent.service.registry.get(id: record.id, withObject: false)?.state, .attached)

        // kend's administrator-only calls.
        var prune = Ken_V1_KendRequest()
        prune.id = 1
        prune.apply = .with { $0.prune = true }
        let pruned = try Ken_V1_KendResponse(serializedBytes: try sendRaw(try prune.serializedBytes(), as: bob, to: kendSocket))
        XCTAssertEqual(pruned.status.code, .permissionDenied, pruned.status.message)
        var add = Ken_V1_KendRequest()
        add.id = 1
        add.examples = .with { $0.action = .add; $0.prompt = "count getppid"; $0.program = Self.program }
        let added = try Ken_V1_KendResponse(serializedBytes: try sendRaw(try add.serializedBytes(), as: bob, to: kendSocket))
        XCTAssertEqual(added.status.code, .permissionDenied, added.status.message)

        // The owner detaches her own extension.
        let detached = try alice.kenc(["detach", record.id, "--agent-socket", agentSocket])
        XCTAssertEqual(detached.status, 0, detached.stderr)
        XCTAssertEqual(try agent.service.registry.get(id: record.id, withObject: false)?.state, .detached)
    }

    /// Sends one framed request as `user` (python3 over the Unix socket) and decodes the answer.
    func sendRaw(_ body: [UInt8], as user: TestUser, to socket: String) throws -> [UInt8] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("needs /usr/bin/python3") }
        var frame: [UInt8] = []
        var n = body.count
        repeat { var b = UInt8(n & 0x7F); n >>= 7; if n > 0 { b |= 0x80 }; frame.append(b) } while n > 0
        frame += body
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(bytes.fromhex(sys.argv[2]))
            n, shift = 0, 0
            while True:
                b = s.recv(1)[0]; n |= (b & 0x7f) << shift; shift += 7
                if b < 0x80: break
            body = b''
            while len(body) < n: body += s.recv(n - len(body))
            sys.stdout.write(body.hex())
            """
        let output = try user.run("/usr/bin/python3", ["-c", script, socket, frame.map { String(format: "%02x", $0) }.joined()])
        XCTAssertEqual(output.status, 0, output.stderr)
        var bytes: [UInt8] = []
        var index = output.stdout.startIndex
        while let next = output.stdout.index(index, offsetBy: 2, limitedBy: output.stdout.endIndex), index != output.stdout.endIndex {
            guard let byte = UInt8(output.stdout[index..<next], radix: 16) else { break }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
