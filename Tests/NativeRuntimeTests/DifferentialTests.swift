import Foundation
import NativeABI
import NativeRuntime
import TestSupport
import XCTest

/// The same program run by the installed bpftrace and natively (hand-written C and plan standing
/// in for the generator): the output lines must be equal, line by line.
final class DifferentialTests: XCTestCase {
    static let bpftrace = ["/usr/bin/bpftrace", "/usr/local/bin/bpftrace"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `script` under bpftrace with `-f json`, runs `trigger` once attached, stops it with
    /// SIGINT, and returns its stdout lines without the `attached_probes` announcement.
    func runBpftrace(_ script: String, trigger: () throws -> Void) throws -> [String] {
        guard let bpftrace = Self.bpftrace else { throw XCTSkip("bpftrace is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bpftrace)
        process.arguments = ["-f", "json", "-e", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let collected = LockedData()
        out.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !collected.text.contains("attached_probes"), process.isRunning, Date() < deadline { usleep(20_000) }
        guard collected.text.contains("attached_probes") else {
            process.terminate()
            throw XCTSkip("bpftrace did not attach: \(collected.text)")
        }
        usleep(200_000)
        try trigger()
        usleep(300_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        collected.append(out.fileHandleForReading.readDataToEndOfFile())
        var lines = collected.text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.filter { !$0.contains("\"attached_probes\"") }
    }

    /// Only cat's own opens (flags 0: O_RDONLY without O_CLOEXEC): their paths are argv strings,
    /// always resident, while the loader's and locale paths live in libc pages a BPF program
    /// may find not yet faulted in (then both bpftrace and Ken print an empty string, at random).
    func testOpenatCountsHistogramsAndPrintfEqualBpftrace() throws {
        try requireKernel()
        let comm = Fixture.uniqueComm()
        let script = """
        tracepoint:syscalls:sys_enter_openat /comm == "\(comm)" && args->flags == 0/ {
          @opens[comm] = count(); @h = hist(5); @l = lhist(25, 0, 100, 10); @s = stats(7); @t = sum(3);
          printf("open %s %d%%\\n", str(args->filename), 7);
        }
        END { printf("end\\n"); }
        """
        let source = Fixture.prelude() + Fixture.aggregationHelpers + """
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, struct comm_key); __type(value, __s64); } m_opens SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct hist_v); } m_h SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct lhist_v); } m_l SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, struct stats_v); } m_s SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1); __type(key, __u64); __type(value, __s64); } m_t SEC(".maps");
        struct open_ev { __u64 id; char file[64]; __s64 seven; };
        SEC("tracepoint/syscalls/sys_enter_openat")
        int on_openat(void *ctx)
        {
            if (!is_comm("\(comm)")) return 0;
            if (*(__u64 *)((char *)ctx + 32) != 0) return 0;  // args->flags == 0
            struct comm_key key = {};
            bpf_get_current_comm(key.c, sizeof(key.c));
            __s64 *c = UPSERT(&m_opens, &key, &zero64); if (c) *c += 1;
            __u64 k0 = 0;
            struct hist_v *h = UPSERT(&m_h, &k0, &zero_hist); if (h) h->b[4] += 1;
            struct lhist_v *l = UPSERT(&m_l, &k0, &zero_lhist); if (l) l->b[3] += 1;
            struct stats_v *s = UPSERT(&m_s, &k0, &zero_stats); if (s) { s->total += 7; s->count += 1; }
            __s64 *t = UPSERT(&m_t, &k0, &zero64); if (t) *t += 3;
            struct open_ev *e = reserve(sizeof(*e));
            if (e) {
                e->id = 0;
                bpf_probe_read_user_str(e->file, sizeof(e->file), *(const char **)((char *)ctx + 24));
                e->seven = 7;
                bpf_ringbuf_submit(e, 0);
            }
            return 0;
        }
        SEC("raw_tp") int ken_end(void *ctx) { __u64 *e = reserve(8); if (e) { *e = 1; bpf_ringbuf_submit(e, 0); } return 0; }
        """
        let key = [NativeField(offset: 0, type: .string(size: 16))]
        let plan = NativePlan(
            probes: [NativeProbe(programName: "on_openat", attachPoint: "tracepoint:syscalls:sys_enter_openat", attach: .section),
                     NativeProbe(programName: "ken_end", attachPoint: "END", attach: .end)],
            maps: [NativeMap(name: "opens", bpfName: "m_opens", keyFields: key, keySize: 16, value: .count, valueSize: 8, perCPU: true),
                   NativeMap(name: "h", bpfName: "m_h", keyFields: [], keySize: 8, value: .hist, valueSize: 528, perCPU: true),
                   NativeMap(name: "l", bpfName: "m_l", keyFields: [], keySize: 8, value: .linearHist(min: 0, max: 100, step: 10), valueSize: 96, perCPU: true),
                   NativeMap(name: "s", bpfName: "m_s", keyFields: [], keySize: 8, value: .stats, valueSize: 16, perCPU: true),
                   NativeMap(name: "t", bpfName: "m_t", keyFields: [], keySize: 8, value: .sum, valueSize: 8, perCPU: true)],
            events: [.printf(format: "open %s %d%%\n", arguments: [NativeField(offset: 8, type: .string(size: 64)),
                                                                    NativeField(offset: 72, type: .integer(bits: 64, signed: true))]),
                     .printf(format: "end\n", arguments: [])])
        let artifact = try Fixture.artifact(source, plan)
        let paths = ["/dev/null", "/proc/version", "/etc/hostname"]

        let expected = try runBpftrace(script) { try Fixture.runCat(comm: comm, paths: paths) }

        let scratch = Scratch()
        defer { scratch.cleanUp(id: "diff") }
        let ext = try NativeExtension.start(artifact, id: "diff", pinRoot: scratch.pinRoot, outputDirectory: scratch.output) { _ in }
        try Fixture.runCat(comm: comm, paths: paths)
        usleep(100_000)
        try ext.stop()
        XCTAssertTrue(expected.contains(printfLine("open /proc/version 7%%\n")), "\(expected)")
        XCTAssertEqual(scratch.lines(), expected)
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
