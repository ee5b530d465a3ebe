import Foundation

/// Compiles BPF C to an ELF object with clang (`-target bpf`), for the tests and ken-bench
/// that load real libbpf objects. Sources stay strings in their callers, so no target holds C
/// files SwiftPM would try to compile for the host.
public enum BPFObjectCompiler {
    public enum Failure: Error, CustomStringConvertible {
        case noClang
        case compileFailed(String)
        public var description: String {
            switch self {
            case .noClang: "clang is not installed (apt-get install clang)"
            case .compileFailed(let log): "clang cannot compile BPF C here: \(log)"
            }
        }
    }

    /// The object's bytes.
    public static func compile(_ source: String, name: String = "fixture") throws -> [UInt8] {
        guard let clang = findClang() else { throw Failure.noClang }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ken-bpf-obj-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sourceFile = directory.appendingPathComponent("\(name).bpf.c")
        let objectFile = directory.appendingPathComponent("\(name).o")
        try source.write(to: sourceFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clang)
        process.arguments = ["-O2", "-g", "-target", "bpf", "-I/usr/include/\(machine())-linux-gnu",
                             "-c", sourceFile.path, "-o", objectFile.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: objectFile.path) else {
            throw Failure.compileFailed(String(decoding: log, as: UTF8.self))
        }
        return [UInt8](data)
    }

    static func findClang() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/clang" } ?? []
        return (["/usr/bin/clang", "/usr/local/bin/clang"] + path + ["/opt/swift/usr/bin/clang"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `x86_64`, `aarch64`: the multiarch include directory's prefix.
    static func machine() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// BPF C sources more than one target compiles.
public enum BPFSampleSources {
    /// Two tracepoint programs (`count_getpid`, `count_getppid`) sharing an array map; both
    /// verify and attach on any kernel with the syscalls tracepoints.
    public static let counter = #"""
// A minimal object extension for KernelLoader tests: counts getpid() calls in an array map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} getpid_calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
    __u32 key = 0;
    __u64 *value = bpf_map_lookup_elem(&getpid_calls, &key);
    if (value)
        __sync_fetch_and_add(value, 1);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __u32 key = 0;
    __u64 *value = bpf_map_lookup_elem(&getpid_calls, &key);
    if (value)
        __sync_fetch_and_add(value, 2);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""#
}
