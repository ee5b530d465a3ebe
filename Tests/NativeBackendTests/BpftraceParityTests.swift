import Foundation
import NativeABI
import NativeBackend
import NativeRuntime
import XCTest

/// Differences from bpftrace 0.17 the differential suite found, each run natively end to end
/// (no bpftrace process) and checked against what bpftrace prints with `-f json`.
final class BpftraceParityTests: XCTestCase {
    private func requireKernel() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to run BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
    }

    /// A copy of `tool` under a unique name in a private directory, removed by the caller.
    private func uniqueCopy(of tool: String) throws -> String {
        let comm = "kenpar" + String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement() ?? "x" })
        let path = NSTemporaryDirectory() + comm
        try FileManager.default.copyItem(atPath: tool, toPath: path)
        return path
    }

    private func run(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    /// bpftrace prints `join()` as its own event, the parts separated by the delimiter and no
    /// newline: `{"type": "join", "data": "/bin/ls /"}` (checked with the installed bpftrace).
    func testJoinIsItsOwnEventWithoutANewline() throws {
        try requireKernel()
        let copy = try uniqueCopy(of: "/bin/true")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let source = """
        tracepoint:syscalls:sys_enter_execve /str(args->filename) == "\(copy)"/ { join(args->argv); join(args->argv, ","); }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        XCTAssertTrue(artifact.plan.events.contains { if case .join = $0 { return true } else { return false } })
        let text = try NativeFixtures.withExtension(artifact) { running, output in
            try run(copy, ["one", "two three"])
            usleep(200_000)
            try running.stop()
            return NativeFixtures.log(output)
        }
        XCTAssertTrue(text.contains(#"{"type": "join", "data": "\#(copy) one two three"}"#), text)
        XCTAssertTrue(text.contains(#"{"type": "join", "data": "\#(copy),one,two three"}"#), text)
        XCTAssertFalse(text.contains(#""type": "printf""#), text)
    }

    /// A plan holding a join event round-trips through the registry's JSON; a plan written
    /// before the event existed still decodes.
    func testJoinEventRoundTripsAndOldPlansDecode() throws {
        let plan = NativePlan(events: [.join(NativeField(offset: 8, type: .string(size: 1024))), .exit])
        let data = try JSONEncoder().encode(plan)
        XCTAssertEqual(try JSONDecoder().decode(NativePlan.self, from: data), plan)
        let old = try JSONEncoder().encode(NativePlan(events: [.printf(format: "%s\n", arguments: []), .exit]))
        XCTAssertEqual(try JSONDecoder().decode(NativePlan.self, from: old).events.count, 2)
    }

    /// END clears a map a busy probe (every context switch) keeps filling: the map prints nothing,
    /// as under bpftrace, because stopping turns the probes off (stop flag) or, for plans
    /// without one, waits until no probe runs, before END (a probe that ran after END's clear
    /// left entries before: removing a link pin detaches only after an RCU grace period).
    /// Several stops, each under load.
    func testEndClearsAMapABusyProbeFills() throws {
        try requireKernel()
        let source = """
        tracepoint:sched:sched_switch { @off_since[args->prev_pid] = nsecs; @switches = count(); }
        END { clear(@off_since); }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        XCTAssertNotNil(artifact.plan.stopFlagMapName)
        // A plan stored before the stop flag existed: the runtime waits for the links to go.
        var older = artifact
        older.plan.stopFlagMapName = nil
        for (round, artifact) in [artifact, artifact, artifact, older, older].enumerated() {
            let busy = Busy()
            let text = try NativeFixtures.withExtension(artifact) { running, output in
                busy.start()
                usleep(150_000)
                let stopping = Date()
                try running.stop()
                print("stop under load: \(Int(Date().timeIntervalSince(stopping) * 1000)) ms")
                return NativeFixtures.log(output)
            }
            busy.stop()
            // An empty map prints nothing (bpftrace 0.17 too).
            XCTAssertFalse(text.contains("\"@off_since\""), "round \(round): \(text)")
            XCTAssertTrue(text.contains("\"@switches\""), text)
        }
    }

    /// `uprobe:libc:getaddrinfo` (gethostlatency.bt): a target without `/` is resolved as
    /// bpftrace resolves it — to the library in the linker cache — into the section's absolute
    /// path, so libbpf attaches it; the probe fires for a program calling getaddrinfo().
    func testShortLibraryNamesResolveAndAttach() throws {
        try requireKernel()
        let copy = try uniqueCopy(of: "/usr/bin/getent")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let comm = String(URL(fileURLWithPath: copy).lastPathComponent.prefix(15))
        let source = """
        uprobe:libc:getaddrinfo /comm == "\(comm)"/ { printf("lookup %s\\n", str(arg0)); }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        let section = try XCTUnwrap(artifact.cSource.split(separator: "\n").first { $0.contains("SEC(\"uprobe/") })
        XCTAssertTrue(section.contains("SEC(\"uprobe//") && section.contains("/libc.so"), String(section))
        let text = try NativeFixtures.withExtension(artifact) { running, output in
            try run(copy, ["ahosts", "localhost"])
            usleep(200_000)
            try running.stop()
            return NativeFixtures.log(output)
        }
        XCTAssertTrue(text.contains(#"{"type": "printf", "data": "lookup localhost\n"}"#), text)
    }

    /// No `lib` prefix is added (bpftrace refuses `uprobe:c:…` too), and a name that is neither
    /// an executable nor a library is a clear error at generation time, not a libbpf failure.
    func testUnknownShortLibraryNamesAreClearErrors() throws {
        for target in ["c", "kennosuchlibrary"] {
            let resolved = try NativeFixtures.resolved("uprobe:\(target):getaddrinfo { exit(); }")
            XCTAssertThrowsError(try NativeCompiler(kernel: NativeFixtures.kernel).compile(resolved)) { error in
                guard case let .unresolved(message) = error as? NativeCompileError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("'\(target)'") && message.contains("linker cache"), message)
            }
        }
        // An executable on PATH resolves to its path, as bpftrace's `uprobe:bash:readline`.
        let bash = try NativeCompiler(kernel: NativeFixtures.kernel).generate(try NativeFixtures.resolved("uprobe:bash:readline { exit(); }"))
        XCTAssertTrue(bash.cSource.contains("SEC(\"uprobe//usr/bin/bash:readline\")") || bash.cSource.contains("SEC(\"uprobe//bin/bash:readline\")"),
                      bash.cSource)
    }

    /// bpftrace 0.17 attaches the attach points whose function the library defines and skips
    /// the others silently (ssllatency.bt names static libcrypto functions); with none left it
    /// has nothing to attach. The generator does the same.
    func testUprobesOnFunctionsTheLibraryLacksAreSkipped() throws {
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel)
        let both = try compiler.generate(try NativeFixtures.resolved(
            "uprobe:libc:kennosuchfunction, uprobe:libc:getaddrinfo { @[probe] = count(); }"))
        XCTAssertEqual(both.plan.probes.map(\.attachPoint), ["uprobe:libc:getaddrinfo"])
        XCTAssertThrowsError(try compiler.generate(try NativeFixtures.resolved("uprobe:libc:kennosuchfunction { exit(); }"))) { error in
            guard case .unresolved = error as? NativeCompileError else { return XCTFail("\(error)") }
        }
    }
}

/// Threads that sleep and wake in a loop: context switches on every CPU while a test stops.
private final class Busy: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var threads: [Thread] = []

    func start() {
        for _ in 0..<4 {
            let thread = Thread { [self] in
                while lock.withLock({ running }) { usleep(50) }
            }
            threads.append(thread)
            thread.start()
        }
    }

    func stop() { lock.withLock { running = false } }
}
