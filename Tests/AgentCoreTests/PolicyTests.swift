import Accounts
import AgentCore
import Foundation
import KenProto
import KenRPC
import XCTest


final class PolicyTests: XCTestCase {
    func testDefaults() {
        let p = AgentPolicy()
        XCTAssertEqual(p.attach, Principals(users: ["root"], groups: ["ken"]))
        XCTAssertEqual(p.admin, Principals(users: ["root"], groups: ["ken-admin"]))
        XCTAssertEqual(p.allowedUnsafeBuiltins, [])
        XCTAssertEqual(p.defaultRestartPolicy, .no)
        XCTAssertFalse(p.detachOnStop)
    }

    /// Every bpftrace spelling names the same provider (so `kfunc` in a policy allows a script's
    /// `fentry:` probe and an object's `fentry/` section alike); other names are object kinds.
    func testProbeKindsAreTyped() throws {
        let p = try AgentPolicy.parse("[programs]\nprobe_kinds = [\"kfunc\", \"begin\", \"lsm\", \"xdp\"]")
        XCTAssertEqual(p.allowedProbeKinds, [.probe(.fentry), .probe(.begin), .object("lsm"), .object("xdp")])
        XCTAssertEqual(p.allowedProbeKinds.map(\.name), ["fentry", "BEGIN", "lsm", "xdp"])
    }

    func testParsesFullFile() throws {
        let p = try AgentPolicy.parse("""
            [attach]
            users = ["root", 1000]
            groups = ["ken", "wheel"]
            [admin]
            users = ["root"]
            groups = []
            [programs]
            probe_kinds = ["tracepoint", "kprobe"]
            unsafe_builtins = ["signal"]
            max_program_bytes = 4096
            [limits]
            extensions_per_uid = 2
            extensions_total = 10
            max_restarts = 0
            [lifecycle]
            restart_policy = "on-failure"
            detach_on_stop = true
            """)
        XCTAssertEqual(p.attach.users, ["root", "1000"])
        XCTAssertEqual(p.attach.groups, ["ken", "wheel"])
        XCTAssertEqual(p.admin.groups, [])
        XCTAssertEqual(p.allowedProbeKinds, [.probe(.tracepoint), .probe(.kprobe)])
        XCTAssertEqual(p.allowedUnsafeBuiltins, [.signal])
        XCTAssertEqual(p.maxProgramBytes, 4096)
        XCTAssertEqual(p.maxExtensionsPerUID, 2)
        XCTAssertEqual(p.maxExtensionsTotal, 10)
        XCTAssertEqual(p.maxRestarts, 0)
        XCTAssertEqual(p.defaultRestartPolicy, .onFailure)
        XCTAssertTrue(p.detachOnStop)
        XCTAssertEqual(try AgentPolicy.parse("[programs]\nunsafe_builtins = true").allowedUnsafeBuiltins, Set(UnsafeBuiltin.allCases))
    }

    /// [kend] user: the only peer that may name an end user to act for.
    func testKendUser() throws {
        XCTAssertEqual(AgentPolicy().kendUser, "ken")
        let numeric = try AgentPolicy.parse("[kend]\nuser = 4242\n")
        XCTAssertTrue(numeric.isKendUser(4242))
        XCTAssertFalse(numeric.isKendUser(0))
        XCTAssertTrue(try AgentPolicy.parse("[kend]\nuser = \"root\"\n").isKendUser(0))
        XCTAssertFalse(try AgentPolicy.parse("[kend]\nuser = \"\"\n").isKendUser(0), "empty: nobody")
        XCTAssertFalse(try AgentPolicy.parse("[kend]\nuser = \"no-such-user-ken\"\n").isKendUser(0))
    }

    func testRejectsTyposAndBadValues() {
        for text in ["[atach]\nusers=[]", "[attach]\nuser = [\"x\"]", "[programs]\nunsafe_builtins = [\"exec\"]",
                     "[limits]\nextensions_total = -1", "[lifecycle]\nrestart_policy = \"sometimes\"", "x = 1",
                     "[lifecycle]\ndetach_on_stop = \"yes\"", "[kend]\nusers = [\"ken\"]", "[kend]\nuser = true"] {
            XCTAssertThrowsError(try AgentPolicy.parse(text), text)
        }
    }

    func testLoadMissingFileGivesDefaultsAndBadFileNamesPathAndLine() throws {
        XCTAssertEqual(try AgentPolicy.load(path: "/nonexistent/agent.toml"), AgentPolicy())
        let path = NSTemporaryDirectory() + "ken-policy-\(UUID().uuidString).toml"
        try "[attach]\nusers = [\"root\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try AgentPolicy.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
    }
}

final class AuthorizationTests: XCTestCase {
    /// Synthetic peers: uid 1000 is in gid 4000 ("ken" stand-in), uid 2000 in gid 5000 (admin
    /// stand-in), uid 3000 in nothing.
    let authorizer = {
        var policy = AgentPolicy()
        policy.attach = Principals(users: ["root"], groups: ["4000"])
        policy.admin = Principals(users: ["root"], groups: ["5000"])
        return Authorizer(policy: policy, groupsOf: { uid in
            switch uid {
            case 1000: return [1000, 4000]
            case 2000: return [2000, 5000]
            default: return [uid]
            }
        })
    }()

    func testRootMayDoEverything() {
        let root = PeerCredentials(uid: 0, gid: 0, pid: 1)
        for op: AgentOperation in [.status, .attach, .list, .get, .verifyOnly, .detach(owner: 1000), .logs(owner: 1000)] {
            XCTAssertEqual(authorizer.authorize(op, peer: root), .allow, "\(op)")
        }
    }

    func testGroupMemberManagesOnlyOwnExtensions() {
        let user = PeerCredentials(uid: 1000, gid: 1000, pid: 2)
        XCTAssertEqual(authorizer.authorize(.attach, peer: user), .allow)
        XCTAssertEqual(authorizer.authorize(.detach(owner: 1000), peer: user), .allow)
        guard case let .deny(message, _) = authorizer.authorize(.detach(owner: 0), peer: user) else { return XCTFail() }
        XCTAssertTrue(message.contains("owned by uid 0"), message)
        guard case .deny = authorizer.authorize(.logs(owner: 2000), peer: user) else { return XCTFail() }
    }

    func testPrimaryGidFromPeerCredentialsCounts() {
        // The socket's gid (e.g. after newgrp) is honoured even if the group database says otherwise.
        XCTAssertEqual(authorizer.authorize(.attach, peer: PeerCredentials(uid: 3000, gid: 4000, pid: 3)), .allow)
    }

    func testAdminMayDetachOthers() {
        let admin = PeerCredentials(uid: 2000, gid: 2000, pid: 4)
        XCTAssertEqual(authorizer.authorize(.detach(owner: 1000), peer: admin), .allow)
        XCTAssertEqual(authorizer.authorize(.logs(owner: 0), peer: admin), .allow)
    }

    func testOutsiderIsDeniedEverything() {
        let outsider = PeerCredentials(uid: 3000, gid: 3000, pid: 5)
        for op: AgentOperation in [.status, .attach, .list, .get, .verifyOnly, .detach(owner: 3000), .logs(owner: 3000)] {
            guard case let .deny(message, hint) = authorizer.authorize(op, peer: outsider) else { return XCTFail("\(op)") }
            XCTAssertTrue(message.contains("3000"), message)
            XCTAssertFalse(hint.isEmpty)
        }
    }

    func testRealGroupDatabase() throws {
        // root (uid 0) resolves through the real passwd/group files.
        XCTAssertEqual(UserDatabase.userName(uid: 0), "root")
        XCTAssertEqual(UserDatabase.userID(named: "root"), 0)
        XCTAssertEqual(UserDatabase.groupID(named: "root"), 0)
        XCTAssertTrue(UserDatabase.groups(ofUID: 0).contains(0))
        XCTAssertNil(UserDatabase.groupID(named: "no-such-group-ken-test"))
        let real = Authorizer(policy: AgentPolicy())
        XCTAssertEqual(real.authorize(.attach, peer: PeerCredentials(uid: 0, gid: 0, pid: 1)), .allow)
        guard case .deny = real.authorize(.attach, peer: PeerCredentials(uid: 65534, gid: 65534, pid: 1)) else {
            return XCTFail("nobody must not be allowed by the default policy")
        }
    }
}

import BpftraceSyntax
import TOML

final class ProgramCheckTests: XCTestCase {
    func testAnnotationsAreStrippedAndTextReprinted() throws {
        let checker = ProgramChecker(policy: AgentPolicy(), dialect: .v0_17)
        let checked = try checker.check("""
            tracepoint:syscalls:sys_enter_openat {
              assume(pid > 0);
              @opens[comm] = count();
              assert(pid > 0, "positive pid");
            }
            """)
        XCTAssertFalse(checked.text.contains("assume"), checked.text)
        XCTAssertFalse(checked.text.contains("assert"), checked.text)
        XCTAssertTrue(checked.text.contains("count()"), checked.text)
        XCTAssertEqual(checked.probes, ["tracepoint:syscalls:sys_enter_openat"])
        XCTAssertEqual(checked.capabilities, [])
        // What the agent runs parses again to the same program.
        XCTAssertNotNil(Parser.parse(source: checked.text, file: "x").program)
    }

    func testUnsafeBuiltinsFoundAnywhereInTheTree() {
        let checker = ProgramChecker(policy: AgentPolicy(), dialect: .v0_17)
        let nested = """
            BEGIN { if (1) { $x = 1 ? 2 : 3; } }
            tracepoint:a:b /pid > 1/ { while ($i < 2) { @m[comm] = 1; if (pid == 3) { system("reboot"); } } }
            """
        XCTAssertThrowsError(try checker.check(nested)) { error in
            guard let refusal = error as? ProgramRefusal else { return XCTFail("\(error)") }
            XCTAssertEqual(refusal.reason, .unsafeBuiltin("system"))
            XCTAssertTrue(refusal.message.contains("line 2"), refusal.message)
        }
        var allowing = AgentPolicy()
        allowing.allowedUnsafeBuiltins = [.signal]
        let allowed = try? ProgramChecker(policy: allowing, dialect: .v0_17).check("BEGIN { signal(\"SIGUSR1\"); }")
        XCTAssertEqual(allowed?.capabilities, [.signal])
        XCTAssertThrowsError(try ProgramChecker(policy: allowing, dialect: .v0_17).check("BEGIN { override(1); }"))
    }

    func testSyntaxErrorsCarryRenderedDiagnostics() {
        let checker = ProgramChecker(policy: AgentPolicy(), dialect: .v0_17)
        XCTAssertThrowsError(try checker.check("BEGIN { printf(\"x\" }", file: "bad.bt")) { error in
            guard let refusal = error as? ProgramRefusal else { return XCTFail("\(error)") }
            XCTAssertEqual(refusal.reason, .syntax)
            XCTAssertTrue(refusal.detail.contains("bad.bt:1:"), refusal.detail)
        }
    }
}

final class PolicyDocumentationTests: XCTestCase {
    /// The example in AgentPolicy's documentation parses to exactly the defaults.
    func testDocumentedDefaultsAreTheDefaults() throws {
        let documented = """
            [attach]
            users = ["root"]
            groups = ["ken"]
            [admin]
            users = ["root"]
            groups = ["ken-admin"]
            [programs]
            probe_kinds = []
            allow = []
            unsafe_builtins = false
            kfuncs = []
            includes = false
            max_program_bytes = 1048576
            [limits]
            extensions_per_uid = 32
            extensions_total = 256
            max_restarts = 5
            log_max_bytes = 1048576
            verify_concurrency = 4
            verify_seconds = 30
            child_memory_bytes = 2147483648
            [lifecycle]
            restart_policy = "no"
            detach_on_stop = false
            """
        XCTAssertEqual(try AgentPolicy.parse(documented), AgentPolicy())
    }
}
