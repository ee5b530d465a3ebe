import AgentCore
import Foundation
import Registry
import TestSupport
import XCTest

/// Issue 14, items 1–3: a member of the agent's group who is not an admin, against the real
/// ken-agent, can do no more than the policy allows. Each test once showed the hole: the
/// bpf_send_signal object killed its target, the raw_tp object attached under a tracepoint-only
/// policy, cat() and #include returned a root-only file, #include "/dev/zero" grew bpftrace
/// without bound, verify-only ran BEGIN, and 60 verify-only calls started 65 bpftrace processes.
final class UnprivilegedCallerTests: XCTestCase {
    var users: TestUsers!
    var user: TestUser!
    var agents: [AgentProcess] = []

    override func setUp() async throws {
        try TestAgent.requireKernel()
        users = try TestUsers(self)
        user = try users.add("u")
    }

    override func tearDown() async throws {
        for agent in agents { agent.stop() }
        agents = []
    }

    /// A restrictive policy: tracepoints, BEGIN and END only; no capabilities.
    func restrictive(_ extra: String = "", limits: String = "") -> String {
        """
        [attach]
        users = ["root"]
        groups = ["\(users.group)"]
        [programs]
        probe_kinds = ["tracepoint", "BEGIN", "END"]
        unsafe_builtins = false
        \(extra)
        [limits]
        \(limits)
        """
    }

    func agent(_ policy: String) async throws -> AgentProcess {
        let agent = try await AgentProcess(policy: policy, group: users.group)
        agents.append(agent)
        return agent
    }

    /// A root-only file with unique content.
    func secret(in agent: AgentProcess) throws -> (path: String, content: String) {
        let content = "KEN-SECRET-\(Registry.randomID())"
        let path = agent.directory + "/secret"
        guard FileManager.default.createFile(atPath: path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw XCTSkip("cannot write \(path)")
        }
        XCTAssertNotEqual(try user.run("/bin/cat", [path]).status, 0, "the test user must not be able to read the secret itself")
        return (path, content)
    }

    // MARK: - 1. One policy for every kind of program

    func testSendSignalObjectIsRefusedAndItsTargetLives() async throws {
        let agent = try await agent(restrictive())
        // The only process the object could signal: one the test started, with a unique comm,
        // calling getpid() in a loop.
        let comm = "kensig\(Registry.randomID().prefix(6))"
        let target = Process()
        target.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        target.arguments = ["-c", "import ctypes, os, time\nctypes.CDLL(None).prctl(15, b'\(comm)', 0, 0, 0)\nwhile True:\n    os.getpid(); time.sleep(0.02)"]
        try target.run()
        defer { if target.isRunning { kill(target.processIdentifier, SIGKILL) }; target.waitUntilExit() }
        _ = await eventually { (try? String(contentsOfFile: "/proc/\(target.processIdentifier)/comm", encoding: .utf8))?.hasPrefix(comm) == true }
        let object = try ObjectFixtures.compile("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("tracepoint/syscalls/sys_enter_getpid")
            int ken_sig(void *ctx) {
                if ((bpf_get_current_pid_tgid() >> 32) == \(target.processIdentifier)) bpf_send_signal(9);
                return 0;
            }
            char LICENSE[] SEC("license") = "GPL";
            """)
        let path = try agent.file("signal.o", object)
        let attach = try user.kenc(agent, ["attach", path])
        XCTAssertEqual(attach.status, 4, "permission denied: \(attach.all)")
        XCTAssertTrue(attach.all.contains("bpf_send_signal"), attach.all)
        XCTAssertTrue(attach.all.contains("programs.allow = [\"signal\"]"), attach.all)
        let verify = try user.kenc(agent, ["attach", "--verify-only", path])
        XCTAssertEqual(verify.status, 4, verify.all)
        try await Task.sleep(for: .milliseconds(500))
        XCTAssertTrue(target.isRunning, "the target must still run")
        let list = try user.kenc(agent, ["list", "--json"])
        XCTAssertFalse(list.stdout.contains("\"attached\""), list.stdout)
    }

    func testRawTracepointObjectIsRefusedUnderATracepointOnlyPolicy() async throws {
        let agent = try await agent(restrictive())
        let object = try ObjectFixtures.compile("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("raw_tp/sys_enter")
            int ken_raw(void *ctx) { return 0; }
            char LICENSE[] SEC("license") = "GPL";
            """)
        let path = try agent.file("raw.o", object)
        for arguments in [["attach", path], ["attach", "--verify-only", path]] {
            let outcome = try user.kenc(agent, arguments)
            XCTAssertEqual(outcome.status, 4, outcome.all)
            XCTAssertTrue(outcome.all.contains("rawtracepoint"), outcome.all)
            XCTAssertTrue(outcome.all.contains("programs.probe_kinds"), outcome.all)
        }
        // A tracepoint object still attaches under the same policy.
        let good = try agent.file("good.o", try ObjectFixtures.compile(ObjectFixtures.good))
        let attached = try user.kenc(agent, ["attach", good])
        XCTAssertEqual(attached.status, 0, attached.all)
        _ = try user.kenc(agent, ["detach", attached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
    }

    // MARK: - 2. Nothing read or run as root on a caller's behalf

    func testCatOfARootOnlyFileIsRefused() async throws {
        let agent = try await agent(restrictive())
        let secret = try secret(in: agent)
        let script = try agent.file("cat.bt", Data("BEGIN { cat(\"\(secret.path)\"); exit(); }\n".utf8))
        for arguments in [["attach", script], ["attach", "--verify-only", script]] {
            let outcome = try user.kenc(agent, arguments)
            XCTAssertEqual(outcome.status, 4, outcome.all)
            XCTAssertTrue(outcome.all.contains("cat()"), outcome.all)
            XCTAssertTrue(outcome.all.contains("programs.allow = [\"cat\"]"), outcome.all)
            XCTAssertFalse(outcome.all.contains(secret.content), "the secret leaked: \(outcome.all)")
        }
    }

    func testIncludeOfARootOnlyFileOrDevZeroNeverReachesClang() async throws {
        // Even with includes allowed, only world-readable system headers may be included.
        let agent = try await agent(restrictive("includes = true"))
        let secret = try secret(in: agent)
        let scripts = [
            "struct leak {\n#include \"\(secret.path)\"\n};\nBEGIN { exit(); }\n",
            "#include \"\(secret.path)\"\nBEGIN { exit(); }\n",
            "#include \"/dev/zero\"\nBEGIN { exit(); }\n",
            "#include </dev/zero>\nBEGIN { exit(); }\n",
            "#include <../../dev/zero>\nBEGIN { exit(); }\n",
            "#pragma GCC dependency \"\(secret.path)\"\nBEGIN { exit(); }\n",
        ]
        for (index, text) in scripts.enumerated() {
            let path = try agent.file("include\(index).bt", Data(text.utf8))
            // --verify-only sends the text as written: the agent itself must refuse it.
            let began = Date()
            let verify = try user.kenc(agent, ["attach", "--verify-only", path])
            XCTAssertEqual(verify.status, 4, "\(text): \(verify.all)")
            XCTAssertFalse(verify.all.contains(secret.content), "the secret leaked: \(verify.all)")
            XCTAssertLessThan(Date().timeIntervalSince(began), 20, "refused before anything reads the file")
            // kenc attach may drop an include BTF makes needless before sending; either way the
            // file is never read and the secret never returned.
            let attach = try user.kenc(agent, ["attach", path])
            XCTAssertTrue(attach.status == 4 || attach.stderr.contains("#include"), "\(text): \(attach.all)")
            XCTAssertFalse(attach.all.contains(secret.content), "the secret leaked: \(attach.all)")
            if attach.status == 0 {
                _ = try user.kenc(agent, ["detach", attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
            }
        }
        XCTAssertTrue(agent.verifyChildren().isEmpty, "no bpftrace is left")
    }

    // MARK: - 3. Verify-only that runs nothing

    func testVerifyOnlyRunsNoBodyNotEvenBEGIN() async throws {
        // system() is allowed, so a body that ran would leave a file behind.
        let agent = try await agent("""
            [attach]
            groups = ["\(users.group)"]
            [programs]
            allow = ["system"]
            """)
        let marks = ["begin", "interval", "probe", "end"].map { agent.directory + "/ran-" + $0 }
        let script = try agent.file("sideeffects.bt", Data("""
            BEGIN { system("touch \(marks[0])"); printf("BEGIN-RAN\\n"); @begin = 1; }
            interval:ms:10 { system("touch \(marks[1])"); }
            tracepoint:syscalls:sys_enter_getppid { system("touch \(marks[2])"); printf("PROBE-RAN\\n"); }
            END { system("touch \(marks[3])"); }

            """.utf8))
        let outcome = try user.kenc(agent, ["attach", "--verify-only", script])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.hasPrefix("accepted"), outcome.all)
        XCTAssertTrue(outcome.stdout.contains("tracepoint"), "the programs went through the verifier: \(outcome.stdout)")
        XCTAssertFalse(outcome.all.contains("BEGIN-RAN"), outcome.all)
        XCTAssertFalse(outcome.all.contains("PROBE-RAN"), outcome.all)
        try await Task.sleep(for: .milliseconds(300))
        for mark in marks {
            XCTAssertFalse(FileManager.default.fileExists(atPath: mark), "\(mark): a body ran during verify-only")
        }
        XCTAssertTrue(agent.verifyChildren().isEmpty)
    }

    func testSixtyConcurrentVerifyOnlyCallsRunBoundedAndAreAllAnswered() async throws {
        // Two users, 30 calls each: the agent also limits connections per uid (32), and these
        // calls are meant to reach the verify queue, not that limit.
        let agent = try await agent(restrictive(limits: "verify_concurrency = 4"))
        let second = try users.add("v")
        let script = try agent.file("count.bt", Data("tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n".utf8))
        var processes: [(Process, String)] = []
        for index in 0..<60 {
            let caller = index.isMultiple(of: 2) ? user! : second
            // bpftrace verify children are what the queue bounds visibly: a native verify-only
            // takes about a millisecond and starts no process.
            let process = caller.process(AgentProcess.kenc, ["attach", "--verify-only", "--backend", "bpftrace", script, "--agent-socket", agent.socket])
            let output = agent.directory + "/out\(index)"
            FileManager.default.createFile(atPath: output, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            try handle.close()
            processes.append((process, output))
        }
        var most = 0
        while processes.contains(where: { $0.0.isRunning }) {
            most = max(most, agent.verifyChildren().count)
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTAssertLessThanOrEqual(most, 4, "at most verify_concurrency children at once")
        XCTAssertGreaterThan(most, 0, "the sampling saw the children")
        var queuedSeen = false
        for (process, output) in processes {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            XCTAssertEqual(process.terminationStatus, 0, text)
            XCTAssertTrue(text.contains("accepted"), text)
            if text.contains("queued for verification") { queuedSeen = true }
        }
        XCTAssertTrue(queuedSeen, "waiting calls are told their place in the queue")
        XCTAssertTrue(agent.verifyChildren().isEmpty)
    }

    func testVerifyOnlyChildDiesWithTheAgent() async throws {
        let agent = try await agent("[attach]\ngroups = [\"\(users.group)\"]\n")
        // Many kprobes: bpftrace takes a while to attach them, long enough to kill the agent.
        let script = try agent.file("slow.bt", Data("kprobe:vfs_* { @[func] = count(); } kprobe:tcp_* { @[func] = count(); }\n".utf8))
        // A bpftrace verify child is what must die with the agent (a native verify-only starts none).
        let caller = user.process(AgentProcess.kenc, ["attach", "--verify-only", "--backend", "bpftrace", script, "--agent-socket", agent.socket])
        caller.standardOutput = FileHandle.nullDevice
        caller.standardError = FileHandle.nullDevice
        try caller.run()
        defer { if caller.isRunning { kill(caller.processIdentifier, SIGKILL) }; caller.waitUntilExit() }
        let started = await eventually(timeout: 30) { !agent.verifyChildren().isEmpty }
        guard started else { throw XCTSkip("the verify-only child finished before it could be observed") }
        kill(agent.process.processIdentifier, SIGKILL)
        agent.process.waitUntilExit()
        let gone = await eventually(timeout: 10) { agent.verifyChildren().isEmpty }
        XCTAssertTrue(gone, "verify-only children outlived the agent: \(agent.verifyChildren())")
    }
}

/// A restarted agent kills verify-only children an earlier agent left behind.
final class VerifyStrayTests: XCTestCase {
    func testAgentStartKillsStrayVerifyChildren() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        let verifyDir = agent.stateDirectory + "/verify/0123456789ab"
        try FileManager.default.createDirectory(atPath: verifyDir, withIntermediateDirectories: true)
        // Looks like a verify-only bpftrace: argv[0] bpftrace, its script under verify/.
        let stray = Process()
        stray.executableURL = URL(fileURLWithPath: "/bin/bash")
        stray.arguments = ["-c", "exec -a bpftrace /usr/bin/python3 -c 'import time; time.sleep(600)' \(verifyDir)/script.bt"]
        try stray.run()
        defer { if stray.isRunning { kill(stray.processIdentifier, SIGKILL) }; stray.waitUntilExit() }
        _ = await eventually { (ProcessInfoCommandLine.of(stray.processIdentifier).first ?? "") == "bpftrace" }
        try await agent.start()
        let killed = await eventually { !stray.isRunning }
        XCTAssertTrue(killed, "the stray verify child survived the agent's start")
        XCTAssertFalse(FileManager.default.fileExists(atPath: verifyDir))
        await agent.cleanUp()
    }
}

enum ProcessInfoCommandLine {
    static func of(_ pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
