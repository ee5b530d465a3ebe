import Contracts
import Foundation
import KernelInfo
import XCTest

/// The store is per release: reused while the release stays, rebuilt (into a new file) when it
/// changes, and a damaged or foreign file is rebuilt rather than trusted.
final class StoreLifecycleTests: XCTestCase {
    private func tracefsOnlyKernel(release: String) throws -> KernelInfo {
        do {
            return KernelInfo(release: release, tracefs: try Tracefs(readFilterFunctions: false), btf: nil)
        } catch {
            throw XCTSkip("tracefs unavailable: \(error)")
        }
    }

    func testRebuildsWhenReleaseChangesAndReusesOtherwise() throws {
        let directory = NSTemporaryDirectory() + "ken-contracts-lifecycle-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kernelA = try tracefsOnlyKernel(release: "6.1.0-test-a")
        var builds = 0
        let first = try ContractStore.open(stateDirectory: directory, release: "6.1.0-test-a") { builds += 1; return kernelA }
        XCTAssertEqual(builds, 1)
        XCTAssertTrue(first.info.rebuiltNow)
        XCTAssertGreaterThan(first.info.tracepoints, 100)
        XCTAssertEqual(first.info.functions, 0, "no BTF given, so no function contracts")
        XCTAssertNotNil(try first.contract(forProbe: "tracepoint:syscalls:sys_enter_openat"))

        let again = try ContractStore.open(stateDirectory: directory, release: "6.1.0-test-a") { builds += 1; return kernelA }
        XCTAssertEqual(builds, 1, "same release: the stored file is reused")
        XCTAssertFalse(again.info.rebuiltNow)
        XCTAssertEqual(again.info.builtAt, first.info.builtAt)

        let kernelB = try tracefsOnlyKernel(release: "6.2.0-test-b")
        let other = try ContractStore.open(stateDirectory: directory, release: "6.2.0-test-b") { builds += 1; return kernelB }
        XCTAssertEqual(builds, 2, "a new release is built")
        XCTAssertTrue(other.path.hasSuffix("contracts-6.2.0-test-b.db"))
        XCTAssertNotEqual(other.path, first.path)

        // A file that is not a complete store of this release is rebuilt, not trusted.
        let damaged = directory + "/" + ContractStore.fileName(release: "6.3.0-test-c")
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: damaged))
        let kernelC = try tracefsOnlyKernel(release: "6.3.0-test-c")
        let rebuilt = try ContractStore.open(stateDirectory: directory, release: "6.3.0-test-c") { builds += 1; return kernelC }
        XCTAssertEqual(builds, 3)
        XCTAssertTrue(rebuilt.info.rebuiltNow)
    }

    func testFileNameIsSafe() {
        XCTAssertEqual(ContractStore.fileName(release: "6.18.44-fc-v657"), "contracts-6.18.44-fc-v657.db")
        XCTAssertEqual(ContractStore.fileName(release: "../../etc/x y"), "contracts-.._.._etc_x_y.db")
    }

    func testProbeSpecParsing() {
        XCTAssertEqual(ProbeSpec("tracepoint:syscalls:sys_enter_openat")?.key, "tracepoint:syscalls:sys_enter_openat")
        XCTAssertEqual(ProbeSpec("t:sched:sched_switch")?.key, "tracepoint:sched:sched_switch")
        XCTAssertEqual(ProbeSpec("kprobe:tcp_v4_connect+0x10")?.key, "function:tcp_v4_connect")
        XCTAssertEqual(ProbeSpec("kretfunc:vmlinux:tcp_connect")?.access, .namedArgsAndReturn)
        XCTAssertEqual(ProbeSpec("kretprobe:do_sys_openat2")?.access, .positionalReturn)
        XCTAssertEqual(ProbeSpec("rawtracepoint:sched_switch")?.key, "rawtracepoint:sched_switch")
        XCTAssertNil(ProbeSpec("BEGIN"))
        XCTAssertNil(ProbeSpec("uprobe:/bin/bash:readline"))
        XCTAssertNil(ProbeSpec("tracepoint:onlyone"))
        XCTAssertNil(ProbeSpec(""))
    }
}
