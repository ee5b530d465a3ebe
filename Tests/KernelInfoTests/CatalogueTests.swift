import BPF
import Foundation
import XCTest
@testable import KernelInfo

final class CatalogueTests: XCTestCase {
    func testWildcardExpansion() throws {
        _ = try KernelFixtures.requireTracefs()
        let catalogue = KernelFixtures.info.catalogue
        let opens = catalogue.expand(.tracepoint, "syscalls:sys_enter_open*")
        XCTAssertTrue(opens.contains("syscalls:sys_enter_openat"))
        XCTAssertTrue(opens.allSatisfy { $0.hasPrefix("syscalls:sys_enter_open") })
        XCTAssertEqual(catalogue.expand(.tracepoint, "sched:sched_switch"), ["sched:sched_switch"])
        XCTAssertEqual(catalogue.expand(.tracepoint, "sched:no_such"), [])
        XCTAssertEqual(catalogue.expand(.tracepoint, "sys*:sys_enter_openat"), ["syscalls:sys_enter_openat"])
    }

    func testKfuncWildcards() throws {
        _ = try KernelFixtures.requireBTF()
        let vfs = KernelFixtures.info.catalogue.expand(.kfunc, "vfs_*")
        XCTAssertTrue(vfs.contains("vfs_read"))
        XCTAssertTrue(vfs.allSatisfy { $0.hasPrefix("vfs_") })
        XCTAssertTrue(Glob.matches("a?c*", "abcdef"))
        XCTAssertFalse(Glob.matches("a?c", "abcd"))
        XCTAssertTrue(Glob.matches("*", ""))
    }

    func testKprobeAvailabilityMatchesTracefs() throws {
        let tracefs = try KernelFixtures.requireTracefs()
        let reason = KernelFixtures.info.catalogue.unavailableReason(.kprobe)
        XCTAssertEqual(reason == nil, FileManager.default.fileExists(atPath: tracefs.root + "/kprobe_events"))
    }

    func testSuggestions() throws {
        _ = try KernelFixtures.requireTracefs()
        let catalogue = KernelFixtures.info.catalogue
        XCTAssertEqual(catalogue.suggestions(.tracepoint, for: "syscalls:sys_enter_opnat").first, "syscalls:sys_enter_openat")
        XCTAssertEqual(catalogue.suggestions(.tracepoint, for: "sched:sched_swich").first, "sched:sched_switch")
        XCTAssertEqual(SuggestionIndex(["alpha", "beta"]).suggestions(for: "zzzzzzzz"), [])
    }

    /// Measures catalogue load and the cost of "did you mean" over all kernel functions.
    func testLoadAndSuggestionSpeed() throws {
        _ = try KernelFixtures.requireBTF()
        // Split BTF cost: libbpf's parse vs Ken's name index.
        let parseStart = Date()
        let rawBTF = try BTF.loadVmlinux()
        let parseTime = Date().timeIntervalSince(parseStart)
        let indexStart0 = Date()
        _ = KernelBTF(btf: rawBTF)
        let btfIndexTime = Date().timeIntervalSince(indexStart0)
        print(String(format: "BTF: libbpf load %.1f ms, Ken index %.1f ms", parseTime * 1000, btfIndexTime * 1000))
        let start = Date()
        let info = KernelInfo.load()
        let loadTime = Date().timeIntervalSince(start)
        let catalogue = info.catalogue
        let indexStart = Date()
        _ = catalogue.suggestions(.kfunc, for: "warmup")
        let indexTime = Date().timeIntervalSince(indexStart)
        let queries = ["vfs_raed", "tcp_sendmsgg", "do_sys_opn", "securty_file_open", "kmalloc_trace_xx"]
        let queryStart = Date()
        var results: [[String]] = []
        for q in queries { results.append(catalogue.suggestions(.kfunc, for: q)) }
        let perQuery = Date().timeIntervalSince(queryStart) / Double(queries.count)
        XCTAssertEqual(results[0].first, "vfs_read")
        XCTAssertEqual(results[1].first, "tcp_sendmsg")
        print(String(format: "KernelInfo.load: %@; %d functions, %d tracepoints, %d raw tracepoints; kfunc suggestion index %.1f ms; per query %.2f ms",
                     info.timings.description, info.catalogue.names(.kfunc).count, info.catalogue.names(.tracepoint).count,
                     info.catalogue.names(.rawTracepoint).count, indexTime * 1000, perQuery * 1000))
        XCTAssertLessThan(loadTime, 5, "loading kernel info must stay fast")
        XCTAssertLessThan(perQuery, 0.5)
    }
}
