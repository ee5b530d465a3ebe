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
        var timings: [(id: String, attach: Double, exit: Double)] = []
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
                timings.append((id, result.attachSeconds, result.exitSeconds))
                launch()
            }
        }
        let elapsed = clock.now - start
        let slowest = timings.sorted { $0.attach + $0.exit > $1.attach + $1.exit }.prefix(5)
            .map { "\($0.id) attach \(String(format: "%.1f", $0.attach))s exit \(String(format: "%.1f", $0.exit))s" }
        print("slowest: \(slowest.joined(separator: "; "))")
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
        /// Seconds until bpftrace reported the attach, and from then until it exited.
        var attachSeconds: Double = 0
        var exitSeconds: Double = 0
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
    /// The child is started with posix_spawn and an empty signal mask: threads of the test
    /// runner block most signals, a child inherits that mask, and bpftrace would never see SIGINT.
    private static func run(bpftrace: String, file: String, unsafe: Bool, timeout: Double) -> Result {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ken-bpftrace-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        // -B none: bpftrace would otherwise hold `attached_probes` in its stdout buffer.
        let arguments = [bpftrace] + (unsafe ? ["--unsafe"] : []) + ["-B", "none", "-f", "json", file]
        guard let pid = spawn(arguments, output: log.path) else {
            return Result(attached: false, output: "cannot start bpftrace: \(String(cString: strerror(errno)))")
        }
        var exited = false
        func isRunning() -> Bool {
            if exited { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { exited = true }
            return !exited
        }
        let started = Date()
        let deadline = started.addingTimeInterval(timeout)
        var attached = false
        while isRunning() && Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("\"attached_probes\"") {
                attached = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let attachedAt = Date()
        // Ask politely (SIGINT, repeated in case it lands before bpftrace's handler is ready);
        // after ten seconds insist with SIGKILL.
        let exitDeadline = Date().addingTimeInterval(10)
        var nextSignal = Date()
        while isRunning() && Date() < exitDeadline {
            if Date() >= nextSignal {
                kill(pid, SIGINT)
                nextSignal = Date().addingTimeInterval(0.5)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        if isRunning() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        let text = ((try? String(contentsOf: log, encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { !$0.contains("RLIMIT_MEMLOCK") }.prefix(20).joined(separator: "\n")
        if !attached { attached = text.contains("\"attached_probes\"") }
        return Result(attached: attached, output: text, attachSeconds: attachedAt.timeIntervalSince(started),
                      exitSeconds: Date().timeIntervalSince(attachedAt))
    }

    private static func spawn(_ arguments: [String], output: String) -> pid_t? {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            errno = result
            return nil
        }
        return pid
    }
}
