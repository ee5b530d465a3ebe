import BPF
import Foundation
import NativeABI
@testable import NativeRuntime
import TestSupport
import XCTest

/// Verify-only, rejection, exit(), interval probes, adopt after the agent let go, lost events.
final class NativeLifecycleTests: XCTestCase {
    /// Waits until none of `ids` is in `list()` (the kernel frees programs and maps after an RCU
    /// grace period) and returns the list.
    func settled(_ list: () throws -> [UInt32], without ids: Set<UInt32>) throws -> Set<UInt32> {
        let deadline = Date().addingTimeInterval(3)
        var current = Set(try list())
        while !current.isDisjoint(with: ids), Date() < deadline {
            usleep(20_000)
            current = Set(try list())
        }
        return current
    }

    func testVerifyOnlyLoadsEveryProgramAndLeavesNothing() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let artifact = try Fixture.artifact(NativeExtensionTests.aggregationSource(comm: comm), NativeExtensionTests.aggregationPlan)
        let linksBefore = Set(try KernelObjectIDs.links())
        let started = Date()
        let programs = try NativeExtension.verifyOnly(artifact)
        print("native verify-only \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        XCTAssertEqual(Set(programs.map(\.name)), ["on_openat", "ken_begin", "ken_end"])
        let loaded = Set(programs.map(\.id))
        let loadedMaps = Set(programs.flatMap(\.mapIDs))
        XCTAssertFalse(loadedMaps.isEmpty)
        XCTAssertTrue(try settled(KernelPrograms.allIDs, without: loaded).isDisjoint(with: loaded), "verify-only left programs loaded")
        XCTAssertTrue(try settled(KernelObjectIDs.maps, without: loadedMaps).isDisjoint(with: loadedMaps), "verify-only left maps")
        XCTAssertTrue(Set(try KernelObjectIDs.links()).subtracting(linksBefore).isEmpty, "verify-only attached something")
    }

    func testBeginRunsOnStartAndNeverInVerifyOnly() throws {
        try requireKernel()
        // BEGIN signals the process that runs it (the test run happens in the caller's context).
        let source = Fixture.prelude() + """
        SEC("raw_tp") int ken_begin(void *ctx) { bpf_send_signal(23 /* SIGURG */); return 0; }
        """
        let plan = NativePlan(probes: [NativeProbe(programName: "ken_begin", attachPoint: "BEGIN", attach: .begin)])
        let artifact = try Fixture.artifact(source, plan)
        beginSignalCount = 0
        let previous = signal(SIGURG) { _ in beginSignalCount += 1 }
        defer { signal(SIGURG, previous) }
        _ = try NativeExtension.verifyOnly(artifact)
        usleep(50_000)
        XCTAssertEqual(beginSignalCount, 0, "verify-only ran BEGIN")
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "begin") }
        let ext = try NativeExtension.start(artifact, id: "begin", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        let deadline = Date().addingTimeInterval(2)
        while beginSignalCount == 0, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(beginSignalCount, 1, "start runs BEGIN once")
        try ext.stop()
        XCTAssertEqual(beginSignalCount, 1)
    }

    func testVerifierRejectionLeavesNoPinAndReturnsTheLog() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u64); __type(value, __u64); } m_x SEC(".maps");
        SEC("tracepoint/syscalls/sys_enter_getppid")
        int bad(void *ctx) { __u64 k = 0; __u64 *v = bpf_map_lookup_elem(&m_x, &k); return *v; }
        """
        let plan = NativePlan(probes: [NativeProbe(programName: "bad", attachPoint: "tracepoint:syscalls:sys_enter_getppid", attach: .section)],
                              maps: [NativeMap(name: "x", bpfName: "m_x", keyFields: [], keySize: 8, value: .value(.integer(bits: 64, signed: false)),
                                               valueSize: 8, perCPU: false, maxEntries: 4)])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "rejected") }
        for attempt in ["verify", "start"] {
            do {
                if attempt == "verify" { _ = try NativeExtension.verifyOnly(artifact) } else {
                    _ = try NativeExtension.start(artifact, id: "rejected", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
                }
                XCTFail("\(attempt): the verifier should refuse a NULL map value dereference")
            } catch let NativeRuntimeError.rejected(program, verifierLog, _) {
                XCTAssertEqual(program, "bad")
                XCTAssertTrue(verifierLog.contains("invalid mem access"), verifierLog)
            }
        }
        XCTAssertEqual(scratch.pins(), [], "a failed start leaves no pin")
    }

    func testStartFailingAfterLoadRemovesEveryPin() throws {
        try requireKernel()
        // The plan names a tracepoint that does not exist: load succeeds, attach fails.
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u64); __type(value, __u64); } m_x SEC(".maps");
        SEC("tracepoint/syscalls/sys_enter_getppid") int fine(void *ctx) { return 0; }
        SEC("tracepoint/ken_no_such_group/ken_no_such_event") int missing(void *ctx) { return 0; }
        """
        let plan = NativePlan(probes: [
            NativeProbe(programName: "fine", attachPoint: "tracepoint:syscalls:sys_enter_getppid", attach: .section),
            NativeProbe(programName: "missing", attachPoint: "tracepoint:ken_no_such_group:ken_no_such_event", attach: .section),
        ], maps: [NativeMap(name: "x", bpfName: "m_x", keyFields: [], keySize: 8, value: .count, valueSize: 8, perCPU: false, maxEntries: 4)])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "halfway") }
        XCTAssertThrowsError(try NativeExtension.start(artifact, id: "halfway", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }) { error in
            guard case NativeRuntimeError.attachFailed(let program, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(program, "missing")
        }
        XCTAssertEqual(scratch.pins(), [])
    }

    // MARK: interval, print, time, exit

    func testIntervalPrintsAndExitStopsItselfAndCallsOnExitOnce() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, __s64); } m_ticks SEC(".maps");
        SEC("perf_event")
        int on_tick(void *ctx)
        {
            __u64 k = 0; __s64 one = 1;
            __s64 *n = bpf_map_lookup_elem(&m_ticks, &k);
            // Ticks after the third (before the stop detaches, on a busy machine) change nothing.
            if (n && *n >= 3) return 0;
            if (!n) { bpf_map_update_elem(&m_ticks, &k, &one, BPF_NOEXIST); n = bpf_map_lookup_elem(&m_ticks, &k); }
            else __sync_fetch_and_add(n, 1);
            if (!n) return 0;
            __u64 *e = reserve(8); if (e) { *e = 0; bpf_ringbuf_submit(e, 0); }
            if (*n == 2) { e = reserve(8); if (e) { *e = 2; bpf_ringbuf_submit(e, 0); } }
            if (*n >= 3) { e = reserve(8); if (e) { *e = 1; bpf_ringbuf_submit(e, 0); } }
            return 0;
        }
        SEC("raw_tp") int ken_end(void *ctx) { __u64 *e = reserve(8); if (e) { *e = 3; bpf_ringbuf_submit(e, 0); } return 0; }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "on_tick", attachPoint: "interval:ms:50", attach: .interval(nanoseconds: 50_000_000)),
                     NativeProbe(programName: "ken_end", attachPoint: "END", attach: .end)],
            maps: [NativeMap(name: "ticks", bpfName: "m_ticks", keyFields: [], keySize: 8, value: .count, valueSize: 8, perCPU: false, maxEntries: 1)],
            events: [.printMap(map: "ticks", top: 0, divisor: 0), .exit, .time(format: "%Y\n"), .printf(format: "bye\n", arguments: [])],
            ringBufferBytes: 4096)
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        let id = "ticker"
        defer { scratch.cleanUp(id: id) }
        let exited = expectation(description: "onExit")
        let calls = ManagedAtomicCounter()
        let ext = try NativeExtension.start(artifact, id: id, pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { exitedID in
            XCTAssertEqual(exitedID, id)
            calls.increment()
            exited.fulfill()
        }
        wait(for: [exited], timeout: 10)
        usleep(200_000)
        XCTAssertEqual(calls.value, 1)
        XCTAssertFalse(ext.isRunning)
        var year = tm()
        var now = time(nil)
        localtime_r(&now, &year)
        XCTAssertEqual(scratch.lines(), [
            #"{"type": "map", "data": {"@ticks": 1}}"#,
            #"{"type": "map", "data": {"@ticks": 2}}"#,
            #"{"type": "time", "data": "\#(1900 + year.tm_year)\n"}"#,
            #"{"type": "map", "data": {"@ticks": 3}}"#,
            printfLine("bye\n"), "", "",
            #"{"type": "map", "data": {"@ticks": 3}}"#,
        ])
        XCTAssertEqual(scratch.pins(), [], "exit() removes the pins")
        XCTAssertNoThrow(try ext.stop())
    }

    func testExitInBeginStopsOnceStartFinished() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, __s64); } m_x SEC(".maps");
        SEC("tracepoint/syscalls/sys_enter_getppid") int never(void *ctx) { return 0; }
        SEC("raw_tp") int ken_begin(void *ctx)
        {
            __u64 k = 0; __s64 v = 1; bpf_map_update_elem(&m_x, &k, &v, BPF_ANY);
            __u64 *e = reserve(8); if (e) { *e = 0; bpf_ringbuf_submit(e, 0); }
            e = reserve(8); if (e) { *e = 1; bpf_ringbuf_submit(e, 0); }
            return 0;
        }
        SEC("raw_tp") int ken_end(void *ctx) { __u64 *e = reserve(8); if (e) { *e = 2; bpf_ringbuf_submit(e, 0); } return 0; }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "never", attachPoint: "tracepoint:syscalls:sys_enter_getppid", attach: .section),
                     NativeProbe(programName: "ken_begin", attachPoint: "BEGIN", attach: .begin),
                     NativeProbe(programName: "ken_end", attachPoint: "END", attach: .end)],
            maps: [NativeMap(name: "x", bpfName: "m_x", keyFields: [], keySize: 8, value: .value(.integer(bits: 64, signed: true)),
                             valueSize: 8, perCPU: false, maxEntries: 1)],
            events: [.exit, .printf(format: "after exit\n", arguments: []), .printf(format: "end\n", arguments: [])])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "quick") }
        let exited = expectation(description: "onExit")
        let ext = try NativeExtension.start(artifact, id: "quick", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in
            exited.fulfill()
        }
        wait(for: [exited], timeout: 5)
        XCTAssertFalse(ext.isRunning)
        // The record after exit() is dropped, as bpftrace drops it.
        XCTAssertEqual(scratch.lines(), [printfLine("end\n"), "", "", #"{"type": "map", "data": {"@x": 1}}"#])
        XCTAssertEqual(scratch.pins(), [])
    }

    // MARK: clear, zero, print with top and div

    func testClearZeroAndPrintWithTopAndDivisor() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u64); __type(value, __s64); } m_a SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 8); __type(key, __u64); __type(value, __s64); } m_b SEC(".maps");
        static __always_inline void ev(__u64 id) { __u64 *e = reserve(8); if (e) { *e = id; bpf_ringbuf_submit(e, 0); } }
        SEC("raw_tp")
        int ken_begin(void *ctx)
        {
            for (__u64 k = 1; k <= 3; k++) { __s64 v = 10 * k + 1; bpf_map_update_elem(&m_a, &k, &v, BPF_ANY); bpf_map_update_elem(&m_b, &k, &v, BPF_ANY); }
            ev(0); ev(1); ev(2); ev(0); ev(3); ev(0); ev(4);
            return 0;
        }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "ken_begin", attachPoint: "BEGIN", attach: .begin)],
            maps: [NativeMap(name: "a", bpfName: "m_a", keyFields: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))],
                             keySize: 8, value: .count, valueSize: 8, perCPU: false, maxEntries: 8),
                   NativeMap(name: "b", bpfName: "m_b", keyFields: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))],
                             keySize: 8, value: .count, valueSize: 8, perCPU: true, maxEntries: 8)],
            events: [.printMap(map: "a", top: 0, divisor: 0), .printMap(map: "a", top: 2, divisor: 10), .zero(map: "a"),
                     .clear(map: "a"), .zero(map: "b")])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "clearing") }
        let ext = try NativeExtension.start(artifact, id: "clearing", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        _ = scratch.waitForLines { $0.count >= 3 }
        usleep(100_000)
        try ext.stop()
        // b's per-CPU slots: 11 on every possible CPU until zero().
        XCTAssertEqual(scratch.lines(), [
            #"{"type": "map", "data": {"@a": {"1": 11, "2": 21, "3": 31}}}"#,
            #"{"type": "map", "data": {"@a": {"2": 2, "3": 3}}}"#,
            #"{"type": "map", "data": {"@a": {"1": 0, "2": 0, "3": 0}}}"#,
            "", "",
            #"{"type": "map", "data": {"@b": {"1": 0, "2": 0, "3": 0}}}"#,
        ])
    }

    // MARK: adopt

    func testAdoptAfterTheExtensionObjectIsDroppedThenStop() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let artifact = try Fixture.artifact(NativeExtensionTests.aggregationSource(comm: comm), NativeExtensionTests.aggregationPlan)
        let scratch = Scratch()
        let id = "adopted-" + comm
        defer { scratch.cleanUp(id: id) }
        var first: NativeExtension? = try NativeExtension.start(artifact, id: id, pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        let linkIDs = first!.linkIDs
        XCTAssertTrue(NativeExtension.isPinned(id: id, pinRoot: scratch.pinRoot))
        _ = scratch.waitForLines { !$0.isEmpty }
        first = nil  // the agent let go: pins keep the programs attached, nobody reads
        _ = first
        try Fixture.runCat(comm: comm, paths: ["/proc/version"])
        usleep(100_000)
        XCTAssertEqual(scratch.lines(), [printfLine("begin 42\n")], "nothing reads while no runtime holds the extension")

        let adopted = try NativeExtension.adopt(plan: artifact.plan, id: id, pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        XCTAssertEqual(adopted.linkIDs, linkIDs)
        let lines = scratch.waitForLines { $0.contains(printfLine("open /proc/version by \(comm)\n")) }
        XCTAssertTrue(lines.contains(printfLine("open /proc/version by \(comm)\n")), "\(lines)")
        try adopted.stop()
        let after = scratch.lines()
        XCTAssertTrue(after.contains(printfLine("end\n")), "END runs from its pin")
        XCTAssertTrue(after.contains { $0.hasPrefix(#"{"type": "map", "data": {"@opens": {"\#(comm)": "#) }, "\(after)")
        XCTAssertEqual(scratch.pins(), [])
        XCTAssertFalse(NativeExtension.isPinned(id: id, pinRoot: scratch.pinRoot))
        XCTAssertThrowsError(try NativeExtension.adopt(plan: artifact.plan, id: id, pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }) { error in
            guard case NativeRuntimeError.notPinned = error else { return XCTFail("\(error)") }
        }
    }

    func testRecordsWithoutWakeupStillArriveWithinSeconds() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let source = Fixture.prelude() + """
        SEC("tracepoint/syscalls/sys_enter_openat")
        int on_openat(void *ctx)
        {
            if (!is_comm("\(comm)")) return 0;
            __u64 *e = reserve(8);
            if (e) { *e = 0; bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP); }
            return 0;
        }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "on_openat", attachPoint: "tracepoint:syscalls:sys_enter_openat", attach: .section)],
            events: [.printf(format: "quiet\n", arguments: [])])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "quiet") }
        let ext = try NativeExtension.start(artifact, id: "quiet", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        try Fixture.runCat(comm: comm, paths: ["/dev/null"])
        let lines = scratch.waitForLines(timeout: 5) { $0.contains(printfLine("quiet\n")) }
        XCTAssertTrue(lines.contains(printfLine("quiet\n")), "the reader's once-a-second drain picks up records that woke nobody")
        try ext.stop()
    }

    // MARK: lost events

    func testLostEventsAreCountedAndReported() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let source = Fixture.prelude(ringBytes: 4096) + """
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, __s64); } m_n SEC(".maps");
        struct big { __u64 id; char pad[1500]; };
        SEC("tracepoint/syscalls/sys_enter_openat")
        int on_openat(void *ctx)
        {
            if (!is_comm("\(comm)")) return 0;
            __u64 k = 0; __s64 zero = 0;
            __s64 *n = bpf_map_lookup_elem(&m_n, &k);
            if (!n) { bpf_map_update_elem(&m_n, &k, &zero, BPF_NOEXIST); n = bpf_map_lookup_elem(&m_n, &k); }
            if (n) *n += 1;
            struct big *e = reserve(sizeof(struct big));
            if (e) { e->id = 0; bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP); }
            return 0;
        }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "on_openat", attachPoint: "tracepoint:syscalls:sys_enter_openat", attach: .section)],
            maps: [NativeMap(name: "n", bpfName: "m_n", keyFields: [], keySize: 8, value: .count, valueSize: 8, perCPU: true, maxEntries: 1)],
            events: [.printf(format: "e\n", arguments: [])],
            ringBufferBytes: 4096)
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "flood") }
        let ext = try NativeExtension.start(artifact, id: "flood", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        try Fixture.runCat(comm: comm, paths: Array(repeating: "/dev/null", count: 300))
        try ext.stop()
        let lines = scratch.lines()
        let printed = lines.filter { $0 == printfLine("e\n") }.count
        let lost = lines.compactMap { line -> Int? in
            guard line.hasPrefix(#"{"type": "lost_events", "data": {"events": "#) else { return nil }
            return Int(line.dropFirst(#"{"type": "lost_events", "data": {"events": "#.count).dropLast(2))
        }.reduce(0, +)
        guard let total = lines.last.flatMap({ Int($0.dropFirst(#"{"type": "map", "data": {"@n": "#.count).dropLast(2)) }) else {
            return XCTFail("no @n line: \(lines.suffix(3))")
        }
        XCTAssertGreaterThanOrEqual(total, 300)
        XCTAssertGreaterThan(lost, 0, "a 4 KiB ring buffer without wakeups cannot hold \(total) records of 1.5 KiB")
        XCTAssertEqual(printed + lost, total, "every event is either printed or counted lost")
    }
}

/// SIGURG deliveries, counted by a signal handler (which can take no lock: a plain word it
/// alone writes, read by the test after it waited).
nonisolated(unsafe) var beginSignalCount: Int32 = 0

/// A counter the exit callback (another thread) bumps.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// profile probes (one perf event per CPU) and the bounded output file.
final class NativeProfileAndLogTests: XCTestCase {
    func testProfileRunsOnEveryOnlineCPU() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u64); __type(value, __s64); } m_cpus SEC(".maps");
        SEC("perf_event")
        int on_profile(void *ctx)
        {
            __u64 cpu = bpf_get_smp_processor_id(); __s64 one = 1;
            __s64 *n = bpf_map_lookup_elem(&m_cpus, &cpu);
            if (n) __sync_fetch_and_add(n, 1); else bpf_map_update_elem(&m_cpus, &cpu, &one, BPF_NOEXIST);
            return 0;
        }
        """
        let plan = NativePlan(
            probes: [NativeProbe(programName: "on_profile", attachPoint: "profile:hz:199", attach: .profile(nanoseconds: 1_000_000_000 / 199))],
            maps: [NativeMap(name: "cpus", bpfName: "m_cpus", keyFields: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))],
                             keySize: 8, value: .count, valueSize: 8, perCPU: false, maxEntries: 64)])
        let artifact = try Fixture.artifact(source, plan)
        let scratch = Scratch()
        defer { scratch.cleanUp(id: "profiler") }
        let cpus = PerfEvent.onlineCPUs()
        let ext = try NativeExtension.start(artifact, id: "profiler", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        XCTAssertEqual(ext.linkIDs.count, cpus.count)
        for cpu in cpus { XCTAssertTrue(scratch.pins().contains("profiler/links/on_profile-cpu\(cpu)"), "\(scratch.pins())") }
        XCTAssertGreaterThan(ext.kernelMemoryBytes, 0)
        // Keep every CPU busy a little so each one's timer fires while the task runs.
        let spinners = cpus.map { _ in Thread { let end = Date().addingTimeInterval(0.3); while Date() < end {} } }
        spinners.forEach { $0.start() }
        usleep(400_000)
        try ext.stop()
        guard let line = scratch.lines().last, line.hasPrefix(#"{"type": "map", "data": {"@cpus": {"#) else {
            return XCTFail("no @cpus map printed: \(scratch.lines())")
        }
        for cpu in cpus { XCTAssertTrue(line.contains("\"\(cpu)\": "), "CPU \(cpu) missing in \(line)") }
    }

    func testOutputLogIsBoundedByCopyTruncate() throws {
        let directory = NSTemporaryDirectory() + "ken-native-log-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try OutputLog(directory: directory + "/nested", limitBytes: 4096)
        let line = String(repeating: "x", count: 99)
        for _ in 0..<100 { log.write([line]) }
        let live = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int)
        let previous = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: log.path + ".1")[.size] as? Int)
        XCTAssertLessThanOrEqual(live, 4096)
        XCTAssertGreaterThan(previous, 4096 - 100)
        XCTAssertLessThanOrEqual(previous, 4096 + 100)
        XCTAssertEqual((live + previous) % 100, 0, "only whole lines")
    }
}

/// The BPF wrapper's pieces the runtime builds on, on their own.
final class BPFWrapperTests: XCTestCase {
    func testAutoloadOffLeavesAProgramOutAndMapsReadWriteAndPin() throws {
        try requireKernel()
        let source = Fixture.prelude() + """
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } m_p SEC(".maps");
        SEC("tracepoint/syscalls/sys_enter_getppid") int kept(void *ctx) { return 0; }
        SEC("tracepoint/syscalls/sys_enter_getppid") int skipped(void *ctx) { return 0; }
        """
        let object = try BPFObject(elf: try BPFObjectCompiler.compile(source), name: "wrapper")
        try object.setAutoload(programNamed: "skipped", false)
        try object.load()
        XCTAssertNoThrow(try object.programFD(named: "kept"))
        XCTAssertThrowsError(try object.programFD(named: "skipped"))

        let map = try object.map(named: "m_p")
        XCTAssertTrue(map.isPerCPU)
        let key: [UInt8] = [7, 0, 0, 0]
        try map.update(key, [42, 0, 0, 0, 0, 0, 0, 0])
        let slots = try XCTUnwrap(try map.lookupPerCPU(key))
        XCTAssertEqual(slots.count, BPFMap.possibleCPUs)
        XCTAssertTrue(slots.allSatisfy { $0 == [42, 0, 0, 0, 0, 0, 0, 0] })
        XCTAssertEqual(try map.keys(), [key])
        XCTAssertNil(try map.lookup([8, 0, 0, 0]))

        let path = "/sys/fs/bpf/ken-wrapper-test-\(getpid())"
        try map.pin(at: path)
        defer { unlink(path) }
        let reopened = try BPFMap.open(pinned: path)
        XCTAssertEqual(reopened.id, map.id)
        XCTAssertTrue(try reopened.delete(key))
        XCTAssertFalse(try reopened.delete(key))
        XCTAssertEqual(try map.keys(), [])
        XCTAssertThrowsError(try BPFProgramFD.open(pinned: path), "a map pin is not a program")
    }
}
