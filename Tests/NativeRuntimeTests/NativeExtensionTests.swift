import BPF
import Foundation
import NativeABI
import NativeRuntime
import TestSupport
import XCTest

/// Kernel tests: hand-written objects and plans following the NativeABI contract, loaded,
/// attached and stopped by the runtime, their output compared with what bpftrace 0.17 prints.
final class NativeExtensionTests: XCTestCase {
    // MARK: printf, BEGIN, END and every aggregation printed at stop

    static func aggregationSource(comm: String) -> String {
        Fixture.prelude() + Fixture.aggregationHelpers + """
        struct k2 { __u64 a; char b[8]; };
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, struct comm_key); __type(value, __s64); } m_opens SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, __s64); } m_total SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct hist_v); } m_h SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct lhist_v); } m_l SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct stats_v); } m_s SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct stats_v); } m_mx SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, struct k2); __type(value, __s64); } m_k2 SEC(".maps");
        struct open_ev { __u64 id; char file[64]; char comm[16]; };

        SEC("tracepoint/syscalls/sys_enter_openat")
        int on_openat(void *ctx)
        {
            if (!is_comm("\(comm)")) return 0;
            const char *filename = *(const char **)((char *)ctx + 24);
            struct open_ev *e = reserve(sizeof(*e));
            if (e) {
                e->id = 1;
                bpf_probe_read_user_str(e->file, sizeof(e->file), filename);
                bpf_get_current_comm(e->comm, sizeof(e->comm));
                bpf_ringbuf_submit(e, 0);
            }
            struct comm_key key = {};
            bpf_get_current_comm(key.c, sizeof(key.c));
            __s64 *c = UPSERT(&m_opens, &key, &zero64); if (c) *c += 1;
            __u64 k0 = 0;
            __s64 *t = UPSERT(&m_total, &k0, &zero64); if (t) *t += 3;
            struct hist_v *h = UPSERT(&m_h, &k0, &zero_hist); if (h) h->b[4] += 1;
            struct lhist_v *l = UPSERT(&m_l, &k0, &zero_lhist); if (l) l->b[3] += 1;
            struct stats_v *s = UPSERT(&m_s, &k0, &zero_stats); if (s) { s->total += 7; s->count += 1; }
            struct stats_v *m = UPSERT(&m_mx, &k0, &zero_stats); if (m && (!m->count || 9 > m->total)) { m->total = 9; m->count = 1; }
            struct k2 kk = { .a = 1 }; kk.b[0] = 'x';
            __s64 v = -5;
            bpf_map_update_elem(&m_k2, &kk, &v, BPF_ANY);
            return 0;
        }

        SEC("raw_tp")
        int ken_begin(void *ctx)
        {
            struct { __u64 id; __s64 v; } *e = reserve(16);
            if (e) { e->id = 0; e->v = 42; bpf_ringbuf_submit(e, 0); }
            return 0;
        }

        SEC("raw_tp")
        int ken_end(void *ctx)
        {
            __u64 *e = reserve(8);
            if (e) { *e = 2; bpf_ringbuf_submit(e, 0); }
            return 0;
        }
        """
    }

    static let aggregationPlan = NativePlan(
        probes: [
            NativeProbe(programName: "on_openat", attachPoint: "tracepoint:syscalls:sys_enter_openat", attach: .section),
            NativeProbe(programName: "ken_begin", attachPoint: "BEGIN", attach: .begin),
            NativeProbe(programName: "ken_end", attachPoint: "END", attach: .end),
        ],
        maps: [
            NativeMap(name: "opens", bpfName: "m_opens", keyFields: [NativeField(offset: 0, type: .string(size: 16))],
                      keySize: 16, value: .count, valueSize: 8, perCPU: true, maxEntries: 64),
            NativeMap(name: "total", bpfName: "m_total", keyFields: [], keySize: 8, value: .sum, valueSize: 8, perCPU: true, maxEntries: 1),
            NativeMap(name: "h", bpfName: "m_h", keyFields: [], keySize: 8, value: .hist, valueSize: 66 * 8, perCPU: true, maxEntries: 1),
            NativeMap(name: "l", bpfName: "m_l", keyFields: [], keySize: 8, value: .linearHist(min: 0, max: 100, step: 10),
                      valueSize: 12 * 8, perCPU: true, maxEntries: 1),
            NativeMap(name: "s", bpfName: "m_s", keyFields: [], keySize: 8, value: .stats, valueSize: 16, perCPU: true, maxEntries: 1),
            NativeMap(name: "mx", bpfName: "m_mx", keyFields: [], keySize: 8, value: .max, valueSize: 16, perCPU: true, maxEntries: 1),
            NativeMap(name: "k2", bpfName: "m_k2",
                      keyFields: [NativeField(offset: 0, type: .integer(bits: 64, signed: true)), NativeField(offset: 8, type: .string(size: 8))],
                      keySize: 16, value: .value(.integer(bits: 64, signed: true)), valueSize: 8, perCPU: false, maxEntries: 4),
        ],
        events: [
            .printf(format: "begin %d\n", arguments: [NativeField(offset: 8, type: .integer(bits: 64, signed: true))]),
            .printf(format: "open %s by %s\n", arguments: [NativeField(offset: 8, type: .string(size: 64)),
                                                           NativeField(offset: 72, type: .string(size: 16))]),
            .printf(format: "end\n", arguments: []),
        ],
        ringBufferBytes: 1 << 16)

    func testPrintfBeginEndAndEveryMapPrintedAtStop() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let artifact = try Fixture.artifact(Self.aggregationSource(comm: comm), Self.aggregationPlan)
        let scratch = Scratch()
        let id = "agg-" + comm
        defer { scratch.cleanUp(id: id) }

        let started = Date()
        let seen = LockedLines()
        let ext = try NativeExtension.start(artifact, id: id, pinRoot: scratch.pinRoot, outputDirectory: scratch.output,
                                            onOutput: { seen.append($0) }) { _ in }
        let attachTime = Date().timeIntervalSince(started)
        XCTAssertFalse(ext.programIDs.isEmpty)
        XCTAssertEqual(ext.linkIDs.count, 1)
        XCTAssertGreaterThanOrEqual(ext.kernelMemoryBytes, UInt64(Self.aggregationPlan.ringBufferBytes),
                                    "kernel memory counts the ring buffer")
        XCTAssertTrue(scratch.pins().contains(id + "/links/on_openat"), "\(scratch.pins())")
        XCTAssertTrue(scratch.pins().contains(id + "/progs/ken_end"))
        XCTAssertTrue(scratch.pins().contains(id + "/maps/m_opens"))
        // BEGIN ran once, first.
        XCTAssertEqual(scratch.waitForLines { !$0.isEmpty }.first, printfLine("begin 42\n"))

        try Fixture.runCat(comm: comm, paths: ["/dev/null", "/proc/version", "/dev/null"])
        let afterCat = scratch.waitForLines { $0.filter { $0.contains("by \(comm)") }.count >= 3 }
        for path in ["/dev/null", "/proc/version"] {
            XCTAssertTrue(afterCat.contains(printfLine("open \(path) by \(comm)\n")), "\(afterCat)")
        }

        let stopping = Date()
        try ext.stop()
        // Counted once everything is drained (stop drains the ring buffer before END).
        let opens = scratch.lines().filter { $0.contains("by \(comm)") }.count
        let detachTime = Date().timeIntervalSince(stopping)
        print("native attach \(Int(attachTime * 1000)) ms, stop \(Int(detachTime * 1000)) ms")
        XCTAssertFalse(ext.isRunning)
        let lines = scratch.lines()
        let tail = Array(lines.suffix(10))
        XCTAssertEqual(tail, [
            printfLine("end\n"), "", "",
            #"{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": \#(opens)}]}}"#,
            #"{"type": "map", "data": {"@k2": {"1,x": -5}}}"#,
            #"{"type": "hist", "data": {"@l": [{"min": 20, "max": 29, "count": \#(opens)}]}}"#,
            #"{"type": "map", "data": {"@mx": 9}}"#,
            #"{"type": "map", "data": {"@opens": {"\#(comm)": \#(opens)}}}"#,
            #"{"type": "stats", "data": {"@s": {"count": \#(opens), "average": 7, "total": \#(7 * opens)}}}"#,
            #"{"type": "map", "data": {"@total": \#(3 * opens)}}"#,
        ])
        XCTAssertEqual(lines.filter { $0 == printfLine("begin 42\n") }.count, 1)
        XCTAssertEqual(seen.lines, lines, "onOutput sees exactly what stdout.log holds")
        XCTAssertEqual(scratch.pins(), [], "stop removes every pin")
        // Stopping twice is harmless.
        XCTAssertNoThrow(try ext.stop())
    }
}

/// Lines `onOutput` delivered (on the reader thread).
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    func append(_ more: [String]) { lock.withLock { collected += more } }
    var lines: [String] { lock.withLock { collected } }
}
