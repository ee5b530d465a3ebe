import BPF
import Foundation
import NativeABI
import TestSupport
import XCTest

/// Hand-written BPF C and plans that follow the NativeABI contract exactly, standing in for the
/// generator's output, and the helpers the kernel tests share.
enum Fixture {
    /// The common part of every fixture: the ring buffer, the lost counter, and `emit`, which
    /// reserves a record or counts it lost.
    static func prelude(ringBytes: Int = 1 << 16) -> String {
        """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, \(ringBytes)); } ken_events SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } ken_lost SEC(".maps");
        static __always_inline void *reserve(__u64 size) {
            void *p = bpf_ringbuf_reserve(&ken_events, size, 0);
            if (!p) { __u32 k = 0; __u64 *lost = bpf_map_lookup_elem(&ken_lost, &k); if (lost) *lost += 1; }
            return p;
        }
        static __always_inline int is_comm(const char *want) {
            char comm[16] = {};
            bpf_get_current_comm(comm, sizeof(comm));
            for (int i = 0; i < 16; i++) { if (comm[i] != want[i]) return 0; if (!want[i]) return 1; }
            return 1;
        }
        char LICENSE[] SEC("license") = "GPL";

        """
    }

    /// Value layouts of the contract's aggregations and `UPSERT`, which finds a key's value or
    /// inserts zero first (per-CPU maps update this CPU's slot).
    static let aggregationHelpers = #"""
    struct hist_v { __u64 b[66]; };
    struct lhist_v { __u64 b[12]; };
    struct stats_v { __s64 total; __u64 count; };
    struct comm_key { char c[16]; };
    static struct hist_v zero_hist;
    static struct lhist_v zero_lhist;
    static struct stats_v zero_stats;
    static __s64 zero64;
    #define UPSERT(map, key, zero) ({ void *v_ = bpf_map_lookup_elem(map, key); \
        if (!v_) { bpf_map_update_elem(map, key, zero, BPF_NOEXIST); v_ = bpf_map_lookup_elem(map, key); } v_; })

    """#

    /// A comm no other process has: `knrt` and random letters (at most 15 bytes).
    static func uniqueComm() -> String {
        "knrt" + String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
    }

    static func artifact(_ source: String, _ plan: NativePlan) throws -> NativeArtifact {
        let object = try BPFObjectCompiler.compile(source, name: "native")
        return NativeArtifact(cSource: source, object: object, plan: plan, kernelRelease: "")
    }

    /// Runs a copy of cat named `comm` opening each path (one openat per path, plus the loader's).
    static func runCat(comm: String, paths: [String]) throws {
        let copy = NSTemporaryDirectory() + comm
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: "/bin/cat", toPath: copy)
        }
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: copy)
        process.arguments = paths
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }
}

/// Skips unless the test runs as root with bpffs and the tools the kernel tests need.
func requireKernel() throws {
    guard getuid() == 0 else { throw XCTSkip("kernel tests need root") }
    guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
    guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events/syscalls/sys_enter_openat")
        || FileManager.default.fileExists(atPath: "/sys/kernel/debug/tracing/events/syscalls/sys_enter_openat") else {
        throw XCTSkip("no syscalls tracepoints")
    }
    do { _ = try BPFObjectCompiler.compile("char LICENSE[] __attribute__((section(\"license\"))) = \"GPL\";") } catch {
        throw XCTSkip("\(error)")
    }
}

/// A scratch pin root and output directory, removed at the end.
struct Scratch {
    let pinRoot: String
    let output: String

    init() {
        let tag = UUID().uuidString.prefix(8)
        pinRoot = "/sys/fs/bpf/ken-native-test-\(tag)"
        output = NSTemporaryDirectory() + "ken-native-out-\(tag)"
    }

    func lines() -> [String] {
        guard let text = try? String(contentsOfFile: output + "/stdout.log", encoding: .utf8) else { return [] }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Waits until `predicate` holds for the output lines (the reader thread writes them).
    func waitForLines(timeout: TimeInterval = 5, _ predicate: ([String]) -> Bool) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = lines()
            if predicate(current) { return current }
            usleep(10_000)
        }
        return lines()
    }

    func pins() -> [String] {
        (FileManager.default.enumerator(atPath: pinRoot)?.allObjects as? [String]) ?? []
    }

    func cleanUp(id: String) {
        NativeExtension.removePins(id: id, pinRoot: pinRoot)
        rmdir(pinRoot)
        try? FileManager.default.removeItem(atPath: output)
    }
}

/// The JSON line bpftrace prints for printf output `text` (tests use plain text: only newlines
/// and quotes need escaping).
func printfLine(_ text: String) -> String {
    let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n")
    return "{\"type\": \"printf\", \"data\": \"\(escaped)\"}"
}

import NativeRuntime
