@testable import AgentCore
import BpftraceSyntax
import Foundation
import XCTest

/// The checks behind `programs.allow`, `programs.kfuncs`, `programs.includes` and probe kinds for
/// objects, on real compiled objects and real scripts (no kernel needed).
final class ObjectPolicyTests: XCTestCase {
    func checker(_ edit: (inout AgentPolicy) -> Void = { _ in }) -> ProgramChecker {
        var policy = AgentPolicy()
        edit(&policy)
        return ProgramChecker(policy: policy, dialect: .v0_17)
    }

    func refusal(_ bytes: [UInt8], _ checker: ProgramChecker) -> ProgramRefusal? {
        do { _ = try checker.checkObject(bytes); return nil } catch { return error }
    }

    func testHelperCalledFromASubprogramIsFound() throws {
        let object = try ObjectFixtures.compile("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            static __attribute__((noinline)) int hidden(int sig) { bpf_send_signal(sig); return 0; }
            SEC("tracepoint/syscalls/sys_enter_getpid")
            int looks_harmless(void *ctx) { return hidden(9); }
            char LICENSE[] SEC("license") = "GPL";
            """)
        let refused = refusal(object, checker())
        XCTAssertEqual(refused?.reason, .helper("bpf_send_signal"))
        XCTAssertTrue(refused?.message.contains(".text") ?? false, refused?.message ?? "")
        XCTAssertTrue(refused?.hint.contains("programs.allow = [\"signal\"]") ?? false)
        let allowed = try checker { $0.allowedCapabilities = [.signal] }.checkObject(object)
        XCTAssertEqual(allowed.capabilities, [.signal])
    }

    func testEveryDeniedHelperNamesItsCapability() throws {
        let calls: [(String, ProgramCapability)] = [
            ("bpf_probe_write_user((void *)0, &k, 4)", .writeUser),
            ("bpf_override_return(ctx, 0)", .override),
            ("bpf_send_signal_thread(9)", .signal),
        ]
        for (call, capability) in calls {
            let object = try ObjectFixtures.compile("""
                #include <linux/bpf.h>
                #include <bpf/bpf_helpers.h>
                SEC("kprobe/do_nanosleep")
                int p(void *ctx) { int k = 0; \(call); return k; }
                char LICENSE[] SEC("license") = "GPL";
                """)
            let refused = refusal(object, checker())
            XCTAssertTrue(refused?.hint.contains(capability.policyLine) ?? false, "\(call): \(String(describing: refused))")
        }
    }

    func testKfuncsAreRefusedUnlessNamed() throws {
        let object = try ObjectFixtures.compile("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            extern void bpf_rcu_read_lock(void) __ksym;
            extern void bpf_rcu_read_unlock(void) __ksym;
            SEC("tp_btf/sys_enter")
            int p(void *ctx) { bpf_rcu_read_lock(); bpf_rcu_read_unlock(); return 0; }
            char LICENSE[] SEC("license") = "GPL";
            """)
        XCTAssertEqual(refusal(object, checker())?.reason, .kfunc("bpf_rcu_read_lock"))
        XCTAssertEqual(refusal(object, checker { $0.allowedKfuncs = ["bpf_rcu_read_lock"] })?.reason, .kfunc("bpf_rcu_read_unlock"))
        let allowed = try checker { $0.allowedKfuncs = ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"] }.checkObject(object)
        XCTAssertEqual(allowed.kfuncs, ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"])
        XCTAssertNil(refusal(object, checker { $0.allowsAnyKfunc = true }))
    }

    func testKindsThatActNeedNamingEvenWhenProbeKindsIsEmpty() throws {
        let lsm = try ObjectFixtures.compile("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("lsm/file_open")
            int deny(void *ctx) { return -1; }
            char LICENSE[] SEC("license") = "GPL";
            """)
        XCTAssertEqual(refusal(lsm, checker())?.reason, .probeKind("lsm"))
        XCTAssertNil(refusal(lsm, checker { $0.allowedProbeKinds = [.object("lsm")] }))
        let good = try ObjectFixtures.compile(ObjectFixtures.good)
        XCTAssertEqual(try checker().checkObject(good).programs.map(\.kind), [.probe(.tracepoint)])
    }

    func testGarbageIsRefusedNotCrashed() {
        for bytes: [UInt8] in [[0x7F, 0x45, 0x4C, 0x46], [0x7F, 0x45, 0x4C, 0x46] + [UInt8](repeating: 0xFF, count: 200), Array("not elf".utf8)] {
            XCTAssertEqual(refusal(bytes, checker())?.reason, .invalidObject)
        }
    }
}

final class ScriptCapabilityTests: XCTestCase {
    func check(_ source: String, _ edit: (inout AgentPolicy) -> Void = { _ in }) -> Result<CheckedProgram, ProgramRefusal> {
        var policy = AgentPolicy()
        edit(&policy)
        return Result { () throws(ProgramRefusal) in try ProgramChecker(policy: policy, dialect: .v0_17).check(source) }
    }

    func testCatAndPathNeedCapabilities() throws {
        guard case let .failure(cat) = check("BEGIN { cat(\"/etc/shadow\"); }") else { return XCTFail("cat() was allowed") }
        XCTAssertEqual(cat.reason, .unsafeBuiltin("cat"))
        guard case let .failure(path) = check("fentry:vfs_open { print(path(args->path)); }") else { return XCTFail("path() was allowed") }
        XCTAssertTrue(path.hint.contains("programs.allow = [\"d_path\"]"), path.hint)
        let allowed = try check("BEGIN { cat(\"/etc/hostname\"); }") { $0.allowedCapabilities = [.cat] }.get()
        XCTAssertFalse(allowed.needsUnsafeFlag, "cat() does not need bpftrace's --unsafe")
    }

    func testPreambleRules() throws {
        let refusedAlways = [
            "#pragma once\nBEGIN { }",
            "#if 1\n#endif\nBEGIN { }",
            "#define A _Pragma(\"GCC dependency \\\"/etc/shadow\\\"\")\nBEGIN { }",
            "#define S(x) #x\nBEGIN { }",
            "struct s {\n#include <linux/types.h>\n};\nBEGIN { }",
            "struct s { int a; %:include <x> };\nBEGIN { }",
            "#include \"/etc/shadow\"\nBEGIN { }",
            "#include </etc/shadow>\nBEGIN { }",
            "#include <linux/../../../etc/shadow>\nBEGIN { }",
        ]
        for source in refusedAlways {
            guard case let .failure(refusal) = check(source, { $0.allowsIncludes = true }) else { XCTFail("allowed: \(source)"); continue }
            XCTAssertEqual(refusal.reason, .preamble, source)
        }
        guard case let .failure(off) = check("#include <linux/types.h>\nBEGIN { }") else { return XCTFail("includes are off by default") }
        XCTAssertTrue(off.hint.contains("programs.includes = true"), off.hint)
        guard FileManager.default.fileExists(atPath: "/usr/include/linux/types.h") else { throw XCTSkip("no kernel headers in /usr/include") }
        XCTAssertNoThrow(try check("#include <linux/types.h>\n#define N 4\nstruct s { int a; };\nBEGIN { }") { $0.allowsIncludes = true }.get())
    }

    func testVerifyOnlyTextGuardsEveryProbe() throws {
        let checked = try ProgramChecker(policy: AgentPolicy(), dialect: .v0_17)
            .checkForVerify("BEGIN { printf(\"x\\n\"); } tracepoint:syscalls:sys_enter_getppid /comm == \"a\"/ { @n = count(); }")
        let program = try XCTUnwrap(Parser.parse(source: checked.text, file: "v.bt").program)
        XCTAssertEqual(program.probes.count, 2)
        XCTAssertTrue(program.probes.allSatisfy { $0.predicate != nil }, checked.text)
        XCTAssertEqual(checked.text.components(separatedBy: "pid == 4294967295").count - 1, 2, checked.text)
        XCTAssertTrue(checked.text.contains("comm == \"a\""), "the original predicate is kept: \(checked.text)")
    }
}

final class VerifyQueueTests: XCTestCase {
    actor Log {
        var places: [Int] = []
        var admitted: [Int] = []
        func place(_ p: Int) { places.append(p) }
        func admit(_ i: Int) { admitted.append(i) }
    }

    func testWaitersAreToldTheirPlaceAdmittedInOrderAndMayGiveUp() async throws {
        let queue = VerifyQueue(capacity: 1)
        let log = Log()
        try await queue.enter { _ in }
        let second = Task { try await queue.enter { await log.place($0) }; await log.admit(2); await queue.leave() }
        while await log.places.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        let third = Task { try await queue.enter { _ in }; await log.admit(3); await queue.leave() }
        while await queue.counts.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
        let quitter = Task { try await queue.enter { _ in } }
        while await queue.counts.waiting < 3 { try await Task.sleep(for: .milliseconds(5)) }
        quitter.cancel()
        do { try await quitter.value; XCTFail("a cancelled waiter must not be admitted") } catch is CancellationError {}
        await queue.leave()
        try await second.value
        try await third.value
        let admitted = await log.admitted
        let places = await log.places
        XCTAssertEqual(admitted, [2, 3])
        XCTAssertEqual(places.first, 1)
        let counts = await queue.counts
        XCTAssertEqual(counts.running, 0)
        XCTAssertEqual(counts.waiting, 0)
    }
}
