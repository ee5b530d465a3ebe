import BPF
import Foundation
import NativeABI
import NativeRuntime
import TestSupport

/// The native runtime alone (no agent RPC, no generator): start, stop and verify-only of a
/// small object written to the NativeABI contract, memory per extension, and events delivered
/// to `stdout.log` per second with the lost count — the figures issue #16 sets targets for.
enum NativeRuntimeBench {
    static func run(rounds: Int) -> [Row] {
        let pinRoot = "/sys/fs/bpf/ken-bench-native-\(getpid())"
        let output = NSTemporaryDirectory() + "ken-bench-native-\(getpid())"
        defer {
            rmdir(pinRoot)
            try? FileManager.default.removeItem(atPath: output)
        }
        let artifact: NativeArtifact
        do {
            let object = try BPFObjectCompiler.compile(source(pid: getpid()), name: "native_bench")
            artifact = NativeArtifact(cSource: "", object: object, plan: plan, kernelRelease: "")
        } catch {
            return [Row(section: "native", metric: "all", samples: 0, unit: "-", note: "cannot build the object: \(error)")]
        }
        do {
            var start = Samples(), stop = Samples(), verify = Samples()
            for round in 0..<max(5, rounds) {
                let id = "bench-\(round)"
                var clock = ContinuousClock.now
                _ = try NativeExtension.verifyOnly(artifact)
                verify.add(milliseconds(ContinuousClock.now - clock))
                clock = ContinuousClock.now
                let ext = try NativeExtension.start(artifact, id: id, pinRoot: pinRoot, outputDirectory: output + "/" + id) { _ in }
                start.add(milliseconds(ContinuousClock.now - clock))
                clock = ContinuousClock.now
                try ext.stop()
                stop.add(milliseconds(ContinuousClock.now - clock))
            }
            return [
                verify.row("native", "verify-only", target: "p95 < 50", note: "load through the verifier and unload"),
                start.row("native", "attach (start)", target: "p95 < 50", note: "load, pin, attach, BEGIN, reader"),
                stop.row("native", "detach (stop)", target: "< 10", note: "detach, drain, END, print maps, unpin"),
                try memory(artifact, pinRoot: pinRoot, output: output),
                try throughput(artifact, pinRoot: pinRoot, output: output),
            ]
        } catch {
            return [Row(section: "native", metric: "all", samples: 0, unit: "-", note: "\(error)")]
        }
    }

    /// Agent RSS growth over ten running extensions, and their kernel memory.
    static func memory(_ artifact: NativeArtifact, pinRoot: String, output: String) throws -> Row {
        let warm = try NativeExtension.start(artifact, id: "bench-warm", pinRoot: pinRoot, outputDirectory: output + "/warm") { _ in }
        let before = residentBytes()
        var running: [NativeExtension] = []
        for index in 0..<10 {
            running.append(try NativeExtension.start(artifact, id: "bench-mem-\(index)", pinRoot: pinRoot,
                                                     outputDirectory: output + "/mem-\(index)") { _ in })
        }
        let after = residentBytes()
        let kernel = running.map(\.kernelMemoryBytes).reduce(0, +) / UInt64(running.count)
        for ext in running + [warm] { try ext.stop() }
        let ring = plan.ringBufferBytes / 1024
        return Row(section: "native", metric: "agent RSS per extension", samples: running.count,
                   value: Double(after - before) / Double(running.count) / 1024, unit: "KiB", target: "< 1024 with memlock",
                   note: "kernel memlock \(kernel / 1024) KiB per extension; the RSS includes the \(ring) KiB ring mapped twice (the same kernel memory)")
    }

    /// getppid() called from this process as fast as it can; every call is one printf record.
    static func throughput(_ artifact: NativeArtifact, pinRoot: String, output: String) throws -> Row {
        let directory = output + "/rate"
        let ext = try NativeExtension.start(artifact, id: "bench-rate", pinRoot: pinRoot, outputDirectory: directory, logLimitBytes: 256 << 20) { _ in }
        let calls = 200_000
        let clock = ContinuousClock.now
        for _ in 0..<calls { _ = getppid() }
        try ext.stop()
        let seconds = milliseconds(ContinuousClock.now - clock) / 1000
        let text = (try? String(contentsOfFile: directory + "/stdout.log", encoding: .utf8)) ?? ""
        var delivered = 0, lost = 0
        for line in text.split(separator: "\n") {
            if line.hasPrefix(#"{"type": "printf""#) { delivered += 1 }
            if line.hasPrefix(#"{"type": "lost_events", "data": {"events": "#) {
                lost += Int(line.dropFirst(#"{"type": "lost_events", "data": {"events": "#.count).dropLast(2)) ?? 0
            }
        }
        return Row(section: "native", metric: "events delivered to stdout.log", samples: calls,
                   value: Double(delivered) / max(seconds, 1e-9), unit: "events/s",
                   note: "\(delivered) delivered, \(lost) lost of \(calls) in \(String(format: "%.2f", seconds)) s (ring \(plan.ringBufferBytes / 1024) KiB)")
    }

    static let plan = NativePlan(
        probes: [NativeProbe(programName: "on_getppid", attachPoint: "tracepoint:syscalls:sys_enter_getppid", attach: .section),
                 NativeProbe(programName: "ken_begin", attachPoint: "BEGIN", attach: .begin),
                 NativeProbe(programName: "ken_end", attachPoint: "END", attach: .end)],
        maps: [NativeMap(name: "calls", bpfName: "m_calls", keyFields: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))],
                         keySize: 8, value: .count, valueSize: 8, perCPU: true, maxEntries: 64)],
        events: [.printf(format: "getppid %d\n", arguments: [NativeField(offset: 8, type: .integer(bits: 64, signed: false))]),
                 .printf(format: "begin\n", arguments: []), .printf(format: "end\n", arguments: [])])

    /// What the generator would write for
    /// `tracepoint:syscalls:sys_enter_getppid /pid == PID/ { @calls[pid] = count(); printf("getppid %d\n", pid); }`
    /// with BEGIN and END printfs.
    static func source(pid: Int32) -> String {
        """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } ken_events SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } ken_lost SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, __u64); __type(value, __s64); } m_calls SEC(".maps");
        char LICENSE[] SEC("license") = "GPL";
        static __always_inline void *reserve(__u64 size) {
            void *p = bpf_ringbuf_reserve(&ken_events, size, 0);
            if (!p) { __u32 k = 0; __u64 *lost = bpf_map_lookup_elem(&ken_lost, &k); if (lost) *lost += 1; }
            return p;
        }
        static __always_inline void say(__u64 id) { __u64 *e = reserve(8); if (e) { *e = id; bpf_ringbuf_submit(e, 0); } }
        SEC("tracepoint/syscalls/sys_enter_getppid")
        int on_getppid(void *ctx)
        {
            __u64 pid = bpf_get_current_pid_tgid() >> 32;
            if (pid != \(pid)) return 0;
            __s64 zero = 0;
            __s64 *n = bpf_map_lookup_elem(&m_calls, &pid);
            if (!n) { bpf_map_update_elem(&m_calls, &pid, &zero, BPF_NOEXIST); n = bpf_map_lookup_elem(&m_calls, &pid); }
            if (n) *n += 1;
            __u64 *e = reserve(16);
            if (e) { e[0] = 0; e[1] = pid; bpf_ringbuf_submit(e, 0); }
            return 0;
        }
        SEC("raw_tp") int ken_begin(void *ctx) { say(1); return 0; }
        SEC("raw_tp") int ken_end(void *ctx) { say(2); return 0; }
        """
    }
}
