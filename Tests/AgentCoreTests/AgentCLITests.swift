import KenClient
import AgentCore
import Foundation
import KenProto
import KenRPC
import Registry
import XCTest

/// kenc's agent subcommand logic: formatting, JSON, exit codes, and real calls over a socket.
final class AgentCLITests: XCTestCase {
    func sampleExtension() -> Ken_V1_Extension {
        Ken_V1_Extension.with {
            $0.id = "a1b2c3d4e5f6"
            $0.name = "opens"
            $0.ownerUid = 1000
            $0.kind = .bpftrace
            $0.state = .attached
            $0.progIds = [41, 42]
            $0.memlockBytes = 8192
            $0.createdUnixMs = 1_000_000
            $0.changedUnixMs = 1_000_000
            $0.pid = 4242
            $0.probes = ["tracepoint:syscalls:sys_enter_openat"]
            $0.programText = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"
            $0.lastError = ""
            $0.verdict = .proven
            $0.provenAsserts = [Ken_V1_ProvenAssert.with {
                $0.text = "assert(comm == \"cat\")"; $0.line = 3; $0.column = 5; $0.claimedBy = .prompt
            }]
        }
    }

    func testListTableIsAlignedLikeBpftool() {
        var reply = Ken_V1_ListReply()
        reply.extensions = [sampleExtension()]
        var other = sampleExtension()
        other.id = "ffffffffffff"
        other.name = "a-much-longer-name"
        other.state = .failed
        other.progIds = []
        other.memlockBytes = 0
        other.verdict = .checked
        other.provenAsserts = []
        other.backend = .native
        reply.extensions.append(other)
        let text = AgentFormatting.list(reply, all: false, now: 1_000_000 + 125_000, userName: { $0 == 1000 ? "alice" : nil })
        XCTAssertEqual(text, """
            ID            NAME                OWNER  KIND      BACKEND   STATE     VERDICT  PROGS  MEMLOCK  AGE
            a1b2c3d4e5f6  opens               alice  bpftrace  bpftrace  attached  proven   41,42  8K       2m
            ffffffffffff  a-much-longer-name  alice  bpftrace  native    failed    checked  -      0B       2m

            """)
        XCTAssertEqual(AgentFormatting.list(Ken_V1_ListReply(), all: false, now: 0), "no extensions\n")
        reply.programs = [Ken_V1_KernelProgram.with { $0.id = 41; $0.type = "tracepoint"; $0.name = "sys_enter"; $0.memlockBytes = 4096; $0.extensionID = "a1b2c3d4e5f6" }]
        let all = AgentFormatting.list(reply, all: true, now: 1_000_000)
        XCTAssertTrue(all.contains("PROG  TYPE        NAME       TAG  MEMLOCK  UID  MAPS  EXTENSION"), all)
        XCTAssertTrue(all.contains("41    tracepoint  sys_enter  -    4K       0    -     a1b2c3d4e5f6"), all)
    }

    /// `backend: native` or `backend: bpftrace (REASON)` in show, the BACKEND column in list, and
    /// `backend`/`backend_reason` in JSON; objects have none, and a script recorded before
    /// backends existed ran on bpftrace.
    func testBackendInShowListAndJSON() throws {
        var native = sampleExtension()
        native.backend = .native
        XCTAssertTrue(AgentFormatting.show(native, now: 1_060_000).contains("backend:    native\n"))
        var fallback = sampleExtension()
        fallback.backend = .bpftrace
        fallback.backendReason = "ustack"
        XCTAssertTrue(AgentFormatting.show(fallback, now: 1_060_000).contains("backend:    bpftrace (ustack)\n"))
        var old = sampleExtension()
        old.backend = .unspecified
        XCTAssertTrue(AgentFormatting.show(old, now: 1_060_000).contains("backend:    bpftrace\n"))
        var object = sampleExtension()
        object.kind = .bpfObject
        object.programText = ""
        XCTAssertFalse(AgentFormatting.show(object, now: 1_060_000).contains("backend:"))
        XCTAssertNil(AgentFormatting.backend(object))

        func json(_ e: Ken_V1_Extension) throws -> [String: Any] {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AgentJSON.object(e).render().utf8)) as? [String: Any])
        }
        XCTAssertEqual(try json(native)["backend"] as? String, "native")
        XCTAssertTrue(try json(native)["backend_reason"] is NSNull)
        XCTAssertEqual(try json(fallback)["backend"] as? String, "bpftrace")
        XCTAssertEqual(try json(fallback)["backend_reason"] as? String, "ustack")
        XCTAssertTrue(try json(object)["backend"] is NSNull)

        let verify = Ken_V1_VerifyOnlyReply.with {
            $0.accepted = true
            $0.programs = ["p0 (tracepoint, 96 bytes translated)"]
            $0.backend = .native
        }
        XCTAssertEqual(AgentFormatting.dryRun(verify, kind: .bpftrace), """
            accepted (native: loaded through the kernel verifier and unloaded; nothing attached, BEGIN not run)
              p0 (tracepoint, 96 bytes translated)

            """)
        let rejected = Ken_V1_VerifyOnlyReply.with {
            $0.accepted = false
            $0.log = "0: (b7) r0 = 0\nR1 invalid mem access"
            $0.backend = .bpftrace
            $0.backendReason = "ustack"
        }
        XCTAssertTrue(AgentFormatting.dryRun(rejected, kind: .bpftrace).hasPrefix("rejected (bpftrace (ustack): "))
        XCTAssertTrue(AgentFormatting.dryRun(rejected, kind: .bpftrace).hasSuffix("R1 invalid mem access\n"))
        let verifyJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AgentJSON.object(rejected).render().utf8)) as? [String: Any])
        XCTAssertEqual(verifyJSON["backend"] as? String, "bpftrace")
        XCTAssertEqual(verifyJSON["backend_reason"] as? String, "ustack")
    }

    func testByteAndAgeAbbreviations() {
        XCTAssertEqual(AgentFormatting.bytes(0), "0B")
        XCTAssertEqual(AgentFormatting.bytes(4096), "4K")
        XCTAssertEqual(AgentFormatting.bytes(1536), "1.5K")
        XCTAssertEqual(AgentFormatting.bytes(3 << 20), "3M")
        XCTAssertEqual(AgentFormatting.age(milliseconds: 0, now: 59_000), "59s")
        XCTAssertEqual(AgentFormatting.age(milliseconds: 0, now: 7_200_000), "2h")
        XCTAssertEqual(AgentFormatting.age(milliseconds: 0, now: 3 * 86_400_000), "3d")
        XCTAssertEqual(AgentFormatting.age(milliseconds: 5_000, now: 0), "0s")
    }

    func testJSONHasStableSnakeCaseKeysAndNumbers() throws {
        var reply = Ken_V1_ListReply()
        reply.extensions = [sampleExtension()]
        let text = AgentJSON.list(reply, all: false).render()
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed[0]["id"] as? String, "a1b2c3d4e5f6")
        XCTAssertEqual(parsed[0]["state"] as? String, "attached")
        XCTAssertEqual(parsed[0]["prog_ids"] as? [Int], [41, 42])
        XCTAssertEqual(parsed[0]["memlock_bytes"] as? Int, 8192)
        XCTAssertEqual(parsed[0]["restart_policy"] as? String, "no")
        let withAll = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AgentJSON.list(reply, all: true).render().utf8)) as? [String: Any])
        XCTAssertNotNil(withAll["extensions"])
        XCTAssertNotNil(withAll["programs"])
    }

    func testShowListsEveryFieldAndTheProgram() {
        var e = sampleExtension()
        e.lastError = "bpftrace killed by signal 9\nlast line"
        let text = AgentFormatting.show(e, now: 1_060_000)
        XCTAssertTrue(text.contains("id:         a1b2c3d4e5f6\n"), text)
        XCTAssertTrue(text.contains("prog ids:   41,42\n"), text)
        XCTAssertTrue(text.contains("last error: bpftrace killed by signal 9\n            last line\n"), text)
        XCTAssertTrue(text.hasSuffix(e.programText + "\n"), text)

        // What the extension was proven against is shown after the program that runs.
        e.annotatedProgram = "tracepoint:syscalls:sys_enter_openat\n{\n    assert(comm == \"cat\");\n}\n"
        e.manifestDigest = String(repeating: "ab", count: 32)
        let proven = AgentFormatting.show(e, now: 1_060_000)
        XCTAssertTrue(proven.hasSuffix("proven against these annotations (assume/assert are never loaded):\n" + e.annotatedProgram), proven)
        XCTAssertTrue(proven.contains("manifest:   sha256 \(e.manifestDigest) (managed by kenc apply)\n"), proven)
        XCTAssertTrue(proven.contains("verdict:    proven\n"), proven)
        XCTAssertTrue(proven.contains("proven:     assert(comm == \"cat\") (line 3, claimed by the prompt)\n"), proven)
        let json = try? JSONSerialization.jsonObject(with: Data(AgentJSON.object(e).render().utf8)) as? [String: Any]
        XCTAssertEqual(json?["annotated_program"] as? String, e.annotatedProgram)
        XCTAssertEqual(json?["verdict"] as? String, "proven")
        XCTAssertEqual((json?["proven_asserts"] as? [[String: Any]])?.first?["claimed_by"] as? String, "prompt")

        // A checked extension is never shown as proven against its annotations.
        e.verdict = .checked
        e.provenAsserts = []
        e.unprovenReason = "the program has no assert tied to the request"
        let checked = AgentFormatting.show(e, now: 1_060_000)
        XCTAssertTrue(checked.contains("verdict:    checked: nothing was proven\n"), checked)
        XCTAssertTrue(checked.contains("why:        the program has no assert tied to the request\n"), checked)
        XCTAssertFalse(checked.contains("proven against"), checked)
        XCTAssertFalse(checked.lowercased().contains("verified"), checked)
    }

    func testExitCodesAndErrorRendering() {
        XCTAssertEqual(KencExit(code: .ok), .success)
        XCTAssertEqual(KencExit(code: .notFound).status, 3)
        XCTAssertEqual(KencExit(code: .permissionDenied).status, 4)
        XCTAssertEqual(KencExit(code: .invalidArgument).status, 2)
        XCTAssertEqual(KencExit(code: .failedPrecondition).status, 1)
        let unreachable = ClientError(rpc: .socketNotFound(path: "/x.sock", service: "ken-agent"), socket: "/x.sock")
        XCTAssertEqual(unreachable.exit.status, 5)
        XCTAssertTrue(unreachable.hint.contains("KEN_AGENT_SOCKET"))
        let rejected = ClientError(status: Ken_V1_Status.with {
            $0.code = .failedPrecondition
            $0.message = "the kernel refused the object"
            $0.detail = "0: R0=ctx\ninvalid mem access"
            $0.hint = "read the verifier log"
        })
        XCTAssertEqual(rejected.rendered, """
            kenc: error: the kernel refused the object
              0: R0=ctx
              invalid mem access
            hint: read the verifier log

            """)
    }

    func testSocketPathPrecedence() {
        XCTAssertEqual(AgentCalls.socketPath(option: "/a.sock", environment: ["KEN_AGENT_SOCKET": "/b.sock"]), "/a.sock")
        XCTAssertEqual(AgentCalls.socketPath(option: nil, environment: ["KEN_AGENT_SOCKET": "/b.sock"]), "/b.sock")
        XCTAssertEqual(AgentCalls.socketPath(option: nil, environment: [:]), "/run/ken/agent.sock")
    }

    func testAttachRequestFromFiles() throws {
        let dir = NSTemporaryDirectory() + "ken-cli-\(Registry.randomID())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "BEGIN { exit(); }".write(toFile: dir + "/x.bt", atomically: true, encoding: .utf8)
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1]).write(to: URL(fileURLWithPath: dir + "/x.o"))
        let script = try AgentCalls.attachRequest(path: dir + "/x.bt", name: "n", restart: .always)
        XCTAssertEqual(script.kind, .bpftrace)
        XCTAssertEqual(script.programText, "BEGIN { exit(); }")
        XCTAssertEqual(script.name, "n")
        XCTAssertEqual(script.restart, .always)
        let object = try AgentCalls.attachRequest(path: dir + "/x.o", name: nil, restart: nil)
        XCTAssertEqual(object.kind, .bpfObject)
        XCTAssertEqual(object.object.count, 6)
        XCTAssertThrowsError(try AgentCalls.attachRequest(path: dir + "/missing.bt", name: nil, restart: nil)) {
            XCTAssertEqual(($0 as? ClientError)?.exit, .usage)
        }
    }

    func testCallsOverARealSocket() async throws {
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let calls = AgentCalls(socket: agent.socketPath)
        let status = try await calls.call { $0.status = Ken_V1_AgentStatusRequest() }
        XCTAssertEqual(status.statusReply.peerUid, geteuid())
        do {
            _ = try await calls.call { $0.get = Ken_V1_GetRequest.with { $0.id = "000000000000" } }
            XCTFail("unknown id must fail")
        } catch {
            XCTAssertEqual(error.exit, .notFound)
        }
        do {
            _ = try await AgentCalls(socket: agent.stateDirectory + "/none.sock").call { $0.status = Ken_V1_AgentStatusRequest() }
            XCTFail("a missing socket must fail")
        } catch {
            XCTAssertEqual(error.exit, .unreachable)
        }
    }

    /// Ids in any case and names name the same extension; detaching twice says so; a detached
    /// extension shows no live program ids.
    func testReferencesDetachTwiceAndShowOfADetachedExtension() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let attached = try await agent.attach("tracepoint:syscalls:sys_enter_getppid { @n = count(); }", name: "cli-ref")
        XCTAssertEqual(attached.status.code, .ok, attached.status.message)
        let id = attached.attach.extension.id
        let calls = AgentCalls(socket: agent.socketPath)
        XCTAssertEqual(ExtensionReference(id.uppercased()), .id(id))
        XCTAssertEqual(ExtensionReference("cli-ref"), .name("cli-ref"))
        let byUpper = try await calls.get(ExtensionReference(id.uppercased()))
        let byName = try await calls.get(ExtensionReference("cli-ref"))
        XCTAssertEqual(byUpper.id, id)
        XCTAssertEqual(byName.id, id)
        XCTAssertFalse(byUpper.progIds.isEmpty, "attached: live programs")
        do {
            _ = try await calls.get(ExtensionReference("no-such-extension"))
            XCTFail("an unknown name must fail")
        } catch {
            XCTAssertEqual(error.exit, .notFound)
        }

        let detached = try await calls.detach(.name("cli-ref"))
        XCTAssertEqual(detached.state, .detached)
        do {
            _ = try await calls.detach(ExtensionReference(id))
            XCTFail("detaching twice must fail")
        } catch {
            XCTAssertEqual(error.exit, .failure)
            XCTAssertTrue(error.message.contains("already detached"), error.message)
        }
        let shown = try await calls.get(ExtensionReference(id))
        let text = AgentFormatting.show(shown, now: AgentFormatting.nowUnixMs())
        XCTAssertTrue(text.contains("state:      detached\n"), text)
        XCTAssertTrue(text.contains("prog ids:   -\n") && text.contains("link ids:   -\n"), text)
        XCTAssertEqual(AgentJSON.object(shown)["prog_ids"], .array([]))
        XCTAssertEqual(AgentJSON.object(shown)["pid"], .null)
    }

    /// `kenc logs -f ID | head -1` with a real agent and a real extension printing all the time:
    /// once head exits, kenc's next write fails with EPIPE and kenc ends with 0 — it used to die
    /// with SIGILL from a trap on the broken pipe. Only that EPIPE ends a follow, so the test
    /// cannot pass by kenc finishing first.
    func testLogsIntoHeadEndsQuietlyOnABrokenPipe() async throws {
        try TestAgent.requireKernel()
        let kenc = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kenc").path
        guard FileManager.default.isExecutableFile(atPath: kenc) else { throw XCTSkip("kenc is not built next to the tests") }
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let attached = try await agent.attach("interval:ms:10 { printf(\"tick %d\\n\", nsecs); }", name: "cli-ticks")
        XCTAssertEqual(attached.status.code, .ok, attached.status.message)
        let id = attached.attach.extension.id
        let lines = await eventually(timeout: 15) {
            let response = try? await agent.call { $0.logs = Ken_V1_LogsRequest.with { $0.id = id } }
            return response?.log.text.hasPrefix("tick") == true
        }
        XCTAssertTrue(lines, "the extension prints")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "timeout 30 \"$0\" logs -f \"$1\" --agent-socket \"$2\" | head -1 >/dev/null; echo \"${PIPESTATUS[0]}\"",
                             kenc, id.uppercased(), agent.socketPath]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let status = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(status.trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "kenc's status (124: still running at the timeout; 132/141: killed by a signal); stderr: \(stderr)")
        XCTAssertEqual(stderr, "")
    }
}
