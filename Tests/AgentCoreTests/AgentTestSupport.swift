import AgentCore
import Foundation
import KenProto
import KenRPC
import Registry
import TestSupport
import XCTest

extension TestUsers {
    /// Test users for one test case, removed in its teardown; skips when they cannot be made.
    convenience init(_ testCase: XCTestCase) throws {
        do { try self.init() } catch let error as TestUsersUnavailable { throw XCTSkip(error.description) }
        testCase.addTeardownBlock { [self] in self.remove() }
    }
}

/// A real agent on a real socket in a temporary state directory, with its own bpffs pin root.
final class TestAgent: @unchecked Sendable {
    let stateDirectory: String
    let socketPath: String
    let pinRoot: String
    var configuration: AgentConfiguration
    var rpcConfiguration = RPCServerConfiguration()
    private(set) var server: AgentServer?
    private(set) var client: AgentClient?

    init(policy: AgentPolicy = AgentPolicy()) throws {
        let tag = Registry.randomID()
        stateDirectory = NSTemporaryDirectory() + "ken-agent-test-\(tag)"
        socketPath = "/tmp/ken-agent-\(tag).sock"
        pinRoot = "/sys/fs/bpf/ken-test-\(tag)"
        configuration = AgentConfiguration(stateDirectory: stateDirectory, policy: policy, pinRoot: pinRoot,
                                           attachTimeoutSeconds: 30)
    }

    static func requireKernel() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to load BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events/syscalls/sys_enter_getppid")
            || FileManager.default.fileExists(atPath: "/sys/kernel/debug/tracing/events/syscalls/sys_enter_getppid") else {
            throw XCTSkip("syscall tracepoints are not available (tracefs)")
        }
        guard ["/usr/bin/bpftrace", "/usr/sbin/bpftrace", "/usr/local/bin/bpftrace"].contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("bpftrace is not installed")
        }
    }

    @discardableResult
    func start() async throws -> AgentServer {
        let server = try await AgentServer.start(configuration: configuration, endpoint: .path(socketPath),
                                                 rpcConfiguration: rpcConfiguration)
        self.server = server
        return server
    }

    /// Stops serving without detaching (like `systemctl stop` with detach_on_stop = false).
    func stop() async {
        await client?.close()
        client = nil
        await server?.shutdown()
        server = nil
    }

    func call(_ build: (inout Ken_V1_AgentRequest) -> Void) async throws -> Ken_V1_AgentResponse {
        guard server != nil else { throw XCTSkip("agent not started") }
        // Connected on first use: the agent closes a connection that sends nothing for a few
        // seconds, and a fixture may spend longer than that preparing its first call.
        let client: AgentClient
        if let connected = self.client {
            client = connected
        } else {
            client = try await AgentClient.connect(path: socketPath)
            self.client = client
        }
        var request = Ken_V1_AgentRequest()
        build(&request)
        return try await client.call(request, timeout: .seconds(60))
    }

    /// `backend`: bpftrace unless a test says otherwise, since most kernel tests are about the
    /// agent's supervision of bpftrace children (pids, kills, adoption); the native backend's
    /// tests (`NativeBackendKernelTests`) pass `.native` or `.unspecified`.
    func attach(_ script: String, name: String = "", restart: Ken_V1_RestartPolicy = .unspecified,
                backend: Ken_V1_Backend = .bpftrace, replacing: String = "") async throws -> Ken_V1_AgentResponse {
        try await call {
            $0.attach = Ken_V1_AttachRequest.with {
                $0.kind = .bpftrace
                $0.programText = script
                $0.name = name
                $0.restart = restart
                $0.backend = backend
                $0.replacesID = replacing
            }
        }
    }

    func get(_ id: String) async throws -> Ken_V1_AgentResponse {
        try await call { $0.get = Ken_V1_GetRequest.with { $0.id = id } }
    }

    func detach(_ id: String) async throws -> Ken_V1_AgentResponse {
        try await call { $0.detach = Ken_V1_DetachRequest.with { $0.id = id } }
    }

    /// Detaches whatever is still live and removes the temporary files.
    func cleanUp() async {
        if server == nil { _ = try? await start() }
        if let records = try? server?.service.registry.list() {
            for record in records where record.state != .detached { _ = try? await detach(record.id) }
        }
        await stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
        if let pins = try? FileManager.default.contentsOfDirectory(atPath: pinRoot) {
            for dir in pins {
                for file in (try? FileManager.default.contentsOfDirectory(atPath: pinRoot + "/" + dir)) ?? [] {
                    unlink(pinRoot + "/" + dir + "/" + file)
                }
                rmdir(pinRoot + "/" + dir)
            }
        }
        rmdir(pinRoot)
        // Native extensions pin in subdirectories (links/, maps/, progs/).
        try? FileManager.default.removeItem(atPath: pinRoot)
    }
}

/// Polls `condition` until true or the timeout passes.
func eventually(timeout: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Small BPF C programs compiled with clang at test time.
enum ObjectFixtures {
    /// Counts sys_enter_getppid in an array map.
    static let good = #"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int ken_agent_test(void *ctx) {
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&hits, &k);
    if (v) __sync_fetch_and_add(v, 1);
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""#

    /// Dereferences a hash map value without the NULL check: the verifier refuses it. (A hash
    /// map, because recent kernels know a constant in-range array lookup is never NULL.)
    static let unchecked = #"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int ken_agent_bad(void *ctx) {
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&hits, &k);
    *v += 1;
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""#

    /// The object's bytes; skips without clang.
    static func compile(_ source: String) throws -> [UInt8] {
        do {
            return try BPFObjectCompiler.compile(source, name: "agent-test")
        } catch let failure as BPFObjectCompiler.Failure {
            throw XCTSkip("\(failure)")
        }
    }
}
