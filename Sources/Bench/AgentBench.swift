import AgentCore
import Foundation
import KenProto
import KenRPC
import Registry
import TestSupport

/// ken-agent: RPC round trips, List with 1,000 registry entries, attach/detach latency for a
/// bpftrace script and a libbpf object, and the agent's memory per attached extension.
///
/// The agent runs in this process on a temporary socket and state directory, so its resident
/// memory can be read from /proc/self; bpftrace children have their own.
public enum AgentBench {
    static let script = """
        tracepoint:syscalls:sys_enter_getppid
        {
          @calls[comm] = count();
        }
        """

    public static func run(rounds: Int) async -> [Row] {
        var rows: [Row] = []
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ken-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: base) }
        let pinRoot = "/sys/fs/bpf/ken-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: pinRoot) }
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            // 1,000 registry entries that List must return (failed: they hold no kernel state).
            let stateDirectory = base.appendingPathComponent("state").path
            let registry = try Registry(stateDirectory: stateDirectory)
            for index in 0..<1000 {
                try registry.insert(ExtensionRecord(id: try registry.newID(), name: "bench-\(index)", ownerUID: 0,
                                                    kind: .bpftrace, programText: script, state: .failed,
                                                    lastError: "benchmark filler"))
            }
            registry.close()

            let configuration = AgentConfiguration(stateDirectory: stateDirectory, pinRoot: pinRoot)
            let socket = base.appendingPathComponent("agent.sock").path
            let agent = try await AgentServer.start(configuration: configuration, endpoint: .path(socket))
            defer { Task { await agent.shutdown() } }
            let client = try await AgentEndpoint(socketPath: socket).connect()

            var status = Samples()
            for _ in 0..<max(200, rounds * 20) {
                _ = try await status.time { try await client.call(.with { $0.status = .init() }) }
            }
            rows.append(status.row("agent", "Status round trip", target: "p99 < 5 ms"))

            var list = Samples()
            var listed = 0
            for _ in 0..<max(20, rounds * 2) {
                let reply = try await list.time { try await client.call(.with { $0.list = .init() }) }
                listed = reply.list.extensions.count
            }
            rows.append(list.row("agent", "List, 1,000 registry entries", target: "p99 < 100 ms",
                                 note: "\(listed) extensions returned per call"))

            // Scripts on each backend. The native rows differ only in what the agent has seen:
            // a text it never compiled (generate, clang, load, attach — each round renames the
            // map so no object is reused), and the same text right after a verify-only of it,
            // the way `kenc synth` and `kenc attach --dry-run` precede an attach (the object is
            // reused; load and attach remain).
            // The agent reads the kernel's types once, on its first native compile (about 100 ms);
            // that is paid here, untimed, as a running agent has long paid it.
            _ = try await client.call(.with { $0.verifyOnly = .with { $0.kind = .bpftrace; $0.programText = uniqueScript(0, "warmup") } },
                                      timeout: .seconds(60))
            rows += try await attachDetach(client: client, kind: "script, native backend, first sight", rounds: rounds) { round in
                (nil, attachScript(uniqueScript(round, "first"), backend: .native))
            }
            rows += try await attachDetach(client: client, kind: "script, native backend, after a verify-only", rounds: rounds) { round in
                let text = uniqueScript(round, "verified")
                return (.with { $0.verifyOnly = .with { $0.kind = .bpftrace; $0.programText = text; $0.backend = .native } },
                        attachScript(text, backend: .native))
            }
            rows += try await attachDetach(client: client, kind: "script, bpftrace backend", rounds: rounds) { _ in
                (nil, attachScript(script, backend: .bpftrace))
            }
            switch BPFObjectFixture.compile() {
            case .success(let object):
                rows += try await attachDetach(client: client, kind: "libbpf object", rounds: rounds) { _ in
                    (nil, .with { $0.attach = .with { $0.name = "bench-obj"; $0.kind = .bpfObject; $0.object = object } })
                }
            case .failure(let error):
                rows.append(Row(section: "agent", metric: "attach, libbpf object", samples: 0, unit: "ms",
                                note: "object not built: \(error)"))
            }
            rows.append(try await memoryPerExtension(client: client, count: 8, backend: .native))
            rows.append(try await memoryPerExtension(client: client, count: 3, backend: .bpftrace))
            await client.close()
        } catch {
            rows.append(Row(section: "agent", metric: "setup", samples: 0, unit: "-",
                            note: "agent benchmark failed: \(error)"))
        }
        return rows
    }

    /// The benchmark script with its map renamed for `round`, so its text is new to the agent.
    static func uniqueScript(_ round: Int, _ label: String) -> String {
        script.replacingOccurrences(of: "@calls", with: "@calls_\(label)_\(round)")
    }

    static func attachScript(_ text: String, backend: Ken_V1_Backend) -> Ken_V1_AgentRequest {
        .with { $0.attach = .with { $0.kind = .bpftrace; $0.programText = text; $0.backend = backend } }
    }

    /// Times attach and detach; `requests(round)` gives an untimed call to make first (nil: none)
    /// and the attach request.
    static func attachDetach(client: AgentClient, kind: String, rounds: Int,
                             requests: (Int) -> (Ken_V1_AgentRequest?, Ken_V1_AgentRequest)) async throws -> [Row] {
        var attach = Samples()
        var detach = Samples()
        for round in 0..<max(3, rounds) {
            let (before, request) = requests(round)
            if let before {
                let prepared = try await client.call(before, timeout: .seconds(60))
                guard prepared.status.code == .ok else {
                    return [Row(section: "agent", metric: "attach, \(kind)", samples: 0, unit: "ms",
                                note: "the call before the attach was refused: \(prepared.status.message)")]
                }
            }
            let reply = try await attach.time { try await client.call(request, timeout: .seconds(60)) }
            guard reply.status.code == .ok else {
                return [Row(section: "agent", metric: "attach, \(kind)", samples: 0, unit: "ms",
                            note: "refused: \(reply.status.message) \(reply.status.detail.prefix(300))")]
            }
            let id = reply.attach.extension.id
            if case .bpftrace = request.attach.backend, reply.attach.extension.backend != .bpftrace {
                return [Row(section: "agent", metric: "attach, \(kind)", samples: 0, unit: "ms", note: "ran on the wrong backend")]
            }
            let detached = try await detach.time { try await client.call(.with { $0.detach = .with { $0.id = id } }) }
            guard detached.status.code == .ok else {
                return [Row(section: "agent", metric: "detach, \(kind)", samples: 0, unit: "ms",
                            note: "refused: \(detached.status.message)")]
            }
        }
        return [attach.row("agent", "attach, \(kind)", note: "through the agent's RPC, until the kernel has it"),
                detach.row("agent", "detach, \(kind)")]
    }

    /// The agent's RSS growth per extension (a native extension's ring buffer and maps are
    /// mapped into the agent; a bpftrace child's memory is its own and not counted here).
    static func memoryPerExtension(client: AgentClient, count: Int, backend: Ken_V1_Backend) async throws -> Row {
        let before = residentBytes()
        var ids: [String] = []
        var memlock: UInt64 = 0
        for index in 0..<count {
            let reply = try await client.call(.with {
                $0.attach = .with { $0.name = "bench-mem-\(backend == .native ? "n" : "b")-\(index)"; $0.kind = .bpftrace; $0.programText = script; $0.backend = backend }
            }, timeout: .seconds(60))
            if reply.status.code == .ok { ids.append(reply.attach.extension.id) }
        }
        let after = residentBytes()
        let listed = try await client.call(.with { $0.list = .init() })
        for item in listed.list.extensions where ids.contains(item.id) { memlock += item.memlockBytes }
        for id in ids { _ = try await client.call(.with { $0.detach = .with { $0.id = id } }) }
        let perExtension = ids.isEmpty ? nil : Double(after - before) / Double(ids.count) / 1024
        return Row(section: "agent", metric: "agent RSS per attached extension, \(backend == .native ? "native" : "bpftrace") backend", samples: ids.count,
                   value: perExtension, unit: "KiB",
                   note: "kernel memlock per extension: \(ids.isEmpty ? 0 : memlock / UInt64(ids.count) / 1024) KiB" + (backend == .bpftrace ? "; the bpftrace children's own memory is not counted (see the native section)" : ""))
    }
}

/// A libbpf object for the attach/detach rows, compiled at run time (`BPFObjectCompiler`).
enum BPFObjectFixture {
    static let source = BPFSampleSources.counter

    /// The object, or why it could not be built.
    static func compile() -> Result<Data, Error> {
        Result { Data(try BPFObjectCompiler.compile(source, name: "bench")) }
    }
}
