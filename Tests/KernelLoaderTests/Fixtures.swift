import Foundation
import TestSupport
import XCTest

/// BPF C sources compiled at test time with clang (`-target bpf`), kept as strings so the test
/// target holds no C files SwiftPM would try to compile for the host.
enum BPFFixtures {
    /// Two tracepoint programs sharing an array map; both verify and attach (shared with ken-bench).
    static let counter = BPFSampleSources.counter

    /// A program the verifier refuses: an out-of-bounds map value read.
    static let outOfBounds = #"""
// Rejected by the verifier: reads 8 bytes at offset 64 of an 8-byte map value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int read_past_end(void *ctx)
{
    __u32 key = 0;
    volatile __u64 *value = bpf_map_lookup_elem(&values, &key);
    if (value)
        return (int)value[8];
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""#

    /// Compiles `source` to a BPF ELF object and returns its bytes; skips without clang.
    static func compile(_ source: String, name: String) throws -> [UInt8] {
        do {
            return try BPFObjectCompiler.compile(source, name: name)
        } catch let failure as BPFObjectCompiler.Failure {
            throw XCTSkip("\(failure)")
        }
    }
}
