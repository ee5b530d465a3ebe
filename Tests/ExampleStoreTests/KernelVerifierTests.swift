import ExampleStore
import Foundation
import XCTest

/// Loads every corpus program whose probes exist on this kernel through the real bpftrace and so
/// through the real kernel verifier: bpftrace prints `attached_probes` (with `-f json`) only after
/// every program was accepted and attached. Each program is stopped as soon as it attached.
final class KernelVerifierTests: XCTestCase {
    static let bpftrace = ["/usr/bin/bpftrace", "/usr/sbin/bpftrace", "/usr/local/bin/bpftrace"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    func testEveryCorpusProgramWithExistingProbesPassesTheKernelVerifier() async throws {
        guard getuid() == 0 else { throw XCTSkip("loading BPF programs needs root") }
        guard let bpftrace = Self.bpftrace else { throw XCTSkip("bpftrace is not installed") }
        let directory = try Fixtures.corpusDirectory()
        let examples = try Fixtures.corpus()
        var runnable: [Example] = []
        var unavailable: [String] = []
        for example in examples {
            if let missing = example.probes.first(where: { !ProbeAvailability.exists($0) }) {
                unavailable.append("\(example.id) (\(missing))")
            } else {
                runnable.append(example)
            }
        }
        if !unavailable.isEmpty {
            print("not checkable on this kernel (probe kind or probe absent): \(unavailable.joined(separator: ", "))")
        }
        XCTAssertGreaterThanOrEqual(runnable.count, 60, "too few corpus programs can be checked here")

        let clock = ContinuousClock()
        let start = clock.now
        let parallelism = 6
        var failed: [String] = []
        await withTaskGroup(of: (String, BpftraceRun.Result).self) { group in
            var pending = runnable[...]
            func launch() {
                guard let example = pending.popFirst() else { return }
                let file = directory.appendingPathComponent("\(example.id).bt").path
                let unsafe = example.needsUnsafe
                let id = example.id
                group.addTask {
                    (id, await BpftraceRun.untilAttached(bpftrace: bpftrace, file: file, unsafe: unsafe, timeout: 45))
                }
            }
            for _ in 0..<parallelism { launch() }
            while let (id, result) = await group.next() {
                if !result.attached { failed.append("\(id):\n\(result.output)") }
                launch()
            }
        }
        let elapsed = clock.now - start
        print("kernel verifier accepted \(runnable.count - failed.count)/\(runnable.count) corpus programs in \(elapsed)")
        XCTAssertTrue(failed.isEmpty, "rejected or failed to attach:\n" + failed.joined(separator: "\n"))
    }
}

/// Whether a probe can be attached on this machine.
enum ProbeAvailability {
    static let tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .first { FileManager.default.fileExists(atPath: $0 + "/events") }

    static func exists(_ probe: String) -> Bool {
        if probe == "BEGIN" || probe == "END" { return true }
        let parts = probe.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard let kind = parts.first else { return false }
        switch kind {
        case "tracepoint", "t":
            guard parts.count == 3, let tracefs, !parts[1].contains("*"), !parts[2].contains("*") else { return false }
            return FileManager.default.fileExists(atPath: "\(tracefs)/events/\(parts[1])/\(parts[2])")
        case "interval", "i", "profile", "p", "software", "s":
            return true
        case "uprobe", "u", "uretprobe", "ur":
            return parts.count == 3 && FileManager.default.fileExists(atPath: parts[1])
        case "kprobe", "k", "kretprobe", "kr":
            guard let tracefs else { return false }
            return FileManager.default.fileExists(atPath: "\(tracefs)/kprobe_events")
        default:
            // kfunc/fentry are refused on the test kernel; hardware counters are absent in VMs.
            return false
        }
    }
}

/// Runs bpftrace on one file until it reports attached probes, then stops it with SIGINT.
enum BpftraceRun {
    struct Result: Sendable {
        var attached: Bool
        var output: String
    }

    static func untilAttached(bpftrace: String, file: String, unsafe: Bool, timeout: Double) async -> Result {
        await withCheckedContinuation { continuation in
            // A thread of its own: reading the pipe blocks, the cooperative pool must not.
            Thread {
                continuation.resume(returning: run(bpftrace: bpftrace, file: file, unsafe: unsafe, timeout: timeout))
            }.start()
        }
    }

    /// Output goes to a file, not a pipe: children spawned concurrently inherit each other's pipe
    /// ends, so waiting for end-of-file on a pipe would wait for unrelated bpftrace runs too.
    private static func run(bpftrace: String, file: String, unsafe: Bool, timeout: Double) -> Result {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ken-bpftrace-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: log) else {
            return Result(attached: false, output: "cannot create \(log.path)")
        }
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bpftrace)
        // -B none: bpftrace would otherwise hold `attached_probes` in its stdout buffer.
        process.arguments = (unsafe ? ["--unsafe"] : []) + ["-B", "none", "-f", "json", file]
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            try? handle.close()
            return Result(attached: false, output: "cannot start bpftrace: \(error)")
        }
        try? handle.close()
        let deadline = Date().addingTimeInterval(timeout)
        var attached = false
        while process.isRunning && Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("\"attached_probes\"") {
                attached = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        // bpftrace 0.17 ignores SIGTERM: ask with SIGINT, then insist with SIGKILL.
        let pid = process.processIdentifier
        if process.isRunning { kill(pid, SIGINT) }
        let exitDeadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        let text = ((try? String(contentsOf: log, encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { !$0.contains("RLIMIT_MEMLOCK") }.prefix(20).joined(separator: "\n")
        if !attached { attached = text.contains("\"attached_probes\"") }
        return Result(attached: attached, output: text)
    }
}
