import AgentCore
import Fleet
import Foundation
import KendCore
import KenClient
import Pipeline
import KenProto
import KenRPC
import LLM
import Logging
import TestSupport
import XCTest

/// `kenc apply`'s engine against the real kernel: an in-process ken-agent, a scripted LLM, and
/// manifests that are created, left alone, edited, pruned and refused.
final class FleetApplyTests: XCTestCase {
    static let opens = """
        tracepoint:syscalls:sys_enter_openat
        {
          printf("%s %s\\n", comm, str(args->filename));
        }
        """
    static let execs = """
        tracepoint:sched:sched_process_exec
        {
          printf("%d %s\\n", pid, str(args->filename));
        }
        """

    struct Rig {
        var agent: AgentServer
        var client: AgentClient
        var applier: FleetApplier
        var server: ScriptedLLMServer
        var state: URL
    }

    func rig(script: [ScriptedLLMServer.Step]) async throws -> Rig {
        guard getuid() == 0 else { throw XCTSkip("not root: ken-agent cannot load programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bpftrace") else { throw XCTSkip("bpftrace is not installed") }
        let kernel = try Fixtures.requireTracefs()
        let state = try Fixtures.temporaryDirectory("apply")
        let socket = state.appendingPathComponent("agent.sock").path
        let agent = try await AgentServer.start(
            configuration: AgentConfiguration(stateDirectory: state.appendingPathComponent("agent").path,
                                              pinRoot: "/sys/fs/bpf/ken-test-apply-\(getpid())"),
            endpoint: .path(socket))
        let server = try ScriptedLLMServer(script: script)
        let engine = Fixtures.engine(source: LLMCandidateSource(client: try Fixtures.llm(server)), kernel: kernel,
                                     state: state, store: nil, gate: AgentGate(agent: AgentEndpoint(socketPath: socket)))
        let client = try await AgentClient.connect(path: socket)
        // Used at once: the agent closes connections that send nothing for a few seconds.
        _ = try await client.call(.with { $0.status = .init() })
        return Rig(agent: agent, client: client,
                   applier: FleetApplier(engine: engine, agent: AgentEndpoint(socketPath: socket)), server: server, state: state)
    }

    func tearDown(_ rig: Rig) async {
        let listed = try? await rig.client.call(.with { $0.list = .init() })
        for item in listed?.list.extensions ?? [] where item.state == .attached {
            _ = try? await rig.client.call(.with { $0.detach = .with { $0.id = item.id } })
        }
        await rig.client.close()
        await rig.agent.shutdown()
        rig.server.stop()
    }

    func apply(_ rig: Rig, _ manifests: [Manifest], prune: Bool = false) async throws -> [String: Ken_V1_ApplyAction] {
        let reply = try await rig.applier.apply(.with {
            $0.manifests = manifests.map(\.proto)
            $0.prune = prune
        })
        return Dictionary(uniqueKeysWithValues: reply.actions.map { ($0.name, $0) })
    }

    func attached(_ rig: Rig) async throws -> [String: Ken_V1_Extension] {
        let listed = try await rig.client.call(.with { $0.list = .init() })
        return Dictionary(uniqueKeysWithValues: listed.list.extensions.filter { $0.state == .attached }.map { ($0.name, $0) })
    }

    func testCreateNoChangeEditAndPrune() async throws {
        let rig = try await rig(script: [
            .completion(Fixtures.reply(Self.opens)),
            .completion(Fixtures.reply(Self.execs)),
            .completion(Fixtures.reply(Self.opens.replacingOccurrences(of: "%s %s", with: "%-16s %s"))),
        ])
        let opens = Manifest(name: "opens", prompt: "print every file opened, with the process name")
        let execs = Manifest(name: "execs", prompt: "print every program executed with its pid")

        let first = try await apply(rig, [opens, execs])
        XCTAssertEqual(first["opens"]?.action, "create", first["opens"]?.message ?? "")
        XCTAssertEqual(first["execs"]?.action, "create", first["execs"]?.message ?? "")
        var running = try await attached(rig)
        XCTAssertEqual(Set(running.keys), ["opens", "execs"])
        XCTAssertFalse(running["opens"]?.progIds.isEmpty ?? true, "the kernel holds the program")
        XCTAssertEqual(running["opens"]?.manifestDigest, opens.digest)

        let second = try await apply(rig, [opens, execs])
        XCTAssertEqual(second.values.map(\.action).sorted(), ["unchanged", "unchanged"])
        XCTAssertEqual(rig.server.requests.count, 2, "a second apply asks no LLM")

        var edited = opens
        edited.prompt = "print every file opened, with the process name padded to 16 columns"
        let third = try await apply(rig, [edited, execs])
        XCTAssertEqual(third["opens"]?.action, "update")
        XCTAssertEqual(third["execs"]?.action, "unchanged")
        XCTAssertEqual(rig.server.requests.count, 3, "only the edited manifest is synthesized again")
        running = try await attached(rig)
        XCTAssertEqual(running["opens"]?.manifestDigest, edited.digest)
        XCTAssertNotEqual(running["opens"]?.id, first["opens"]?.extensionID, "the old version was replaced")

        let pruned = try await apply(rig, [edited], prune: true)
        XCTAssertEqual(pruned["execs"]?.action, "prune")
        running = try await attached(rig)
        XCTAssertEqual(Set(running.keys), ["opens"])
        await tearDown(rig)
    }

    /// The path kenc apply takes: manifests read from a directory, sent over kend's socket.
    func testApplyThroughKendsSocketAndTheDirectoryWatcher() async throws {
        let rig = try await rig(script: [.completion(Fixtures.reply(Self.opens)), .completion(Fixtures.reply(Self.execs))])
        let directory = rig.state.appendingPathComponent("extensions.d")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "name = \"opens\"\nprompt = \"print every file opened, with the process name\"\n"
            .write(to: directory.appendingPathComponent("opens.toml"), atomically: true, encoding: .utf8)

        let service = KendService(engine: rig.applier.engine, status: { Ken_V1_KendStatusReply() }, applier: rig.applier)
        let socket = rig.state.appendingPathComponent("kend.sock").path
        let kend = try await RPCServer.start(endpoint: .path(socket), handler: service)
        let client = try await KendClient.connect(path: socket)
        let manifests = try ManifestLoader.load(path: directory.path)
        let answer = try await client.call(.with { $0.apply = .with { $0.manifests = manifests.map(\.proto) } })
        XCTAssertEqual(answer.status.code, .ok, answer.status.message)
        XCTAssertEqual(answer.apply.actions.map(\.action), ["create"])
        XCTAssertEqual(ApplyFormatting.exitStatus(answer.apply), 2, "changed")
        let again = try await client.call(.with { $0.apply = .with { $0.manifests = manifests.map(\.proto) } })
        XCTAssertEqual(ApplyFormatting.exitStatus(again.apply), 0, "a second apply changes nothing")
        XCTAssertTrue(ApplyFormatting.table(again.apply, dryRun: false).contains("no change"))
        await client.close()
        await kend.shutdown()

        // kend's watcher applies a new manifest without being asked.
        try "name = \"execs\"\nprompt = \"print every program executed with its pid\"\n"
            .write(to: directory.appendingPathComponent("execs.toml"), atomically: true, encoding: .utf8)
        let watcher = ManifestWatcher(directory: directory.path, interval: .milliseconds(200), prune: true,
                                      applier: rig.applier, logger: Logger(label: "test"))
        watcher.start()
        var running: [String: Ken_V1_Extension] = [:]
        for _ in 0..<100 {
            running = try await attached(rig)
            if running["execs"] != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertNotNil(running["execs"], "the watcher attached the new manifest")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("execs.toml"))
        for _ in 0..<100 {
            running = try await attached(rig)
            if running["execs"] == nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        watcher.stop()
        XCTAssertNil(running["execs"], "removing the manifest prunes its extension")
        XCTAssertNotNil(running["opens"])
        await tearDown(rig)
    }

    func testAPinnedProgramThatFailsItsPromptIsRefusedAndNeverAsksTheLLM() async throws {
        let rig = try await rig(script: [])
        // The prompt asks for cat only; the pinned program's own assert states that intent, and
        // the program (no filter) violates it.
        let pinned = Manifest(name: "cat-opens", prompt: "print files opened by cat", program: """
            tracepoint:syscalls:sys_enter_openat
            {
              assert(comm == "cat", "only cat's opens are printed");
              printf("%s\\n", str(args->filename));
            }
            """)
        let good = Manifest(name: "cat-opens-ok", prompt: "print files opened by cat", program: """
            tracepoint:syscalls:sys_enter_openat
            /comm == "cat"/
            {
              assert(comm == "cat", "only cat's opens are printed");
              printf("%s\\n", str(args->filename));
            }
            """)
        let result = try await apply(rig, [pinned, good])
        XCTAssertEqual(result["cat-opens"]?.action, "fail")
        XCTAssertTrue(result["cat-opens"]?.message.contains("not attached") ?? false, result["cat-opens"]?.message ?? "")
        XCTAssertTrue(result["cat-opens"]?.message.contains("VIOLATED") ?? false, result["cat-opens"]?.message ?? "")
        XCTAssertEqual(result["cat-opens-ok"]?.verdict, .proven, "its own non-vacuous assert was proven")
        XCTAssertEqual(result["cat-opens-ok"]?.action, "create", result["cat-opens-ok"]?.message ?? "")
        let running = try await attached(rig)
        XCTAssertNil(running["cat-opens"])
        XCTAssertNotNil(running["cat-opens-ok"])
        XCTAssertEqual(running["cat-opens-ok"]?.verdict, .proven, "the registry keeps the verdict")
        XCTAssertEqual(running["cat-opens-ok"]?.provenAsserts.map(\.claimedBy), [.program])
        XCTAssertTrue(running["cat-opens-ok"]?.programText.contains("assert") == false, "annotations never reach the kernel")
        XCTAssertTrue(rig.server.requests.isEmpty, "pinned programs are checked without an LLM")
        await tearDown(rig)
    }
}
