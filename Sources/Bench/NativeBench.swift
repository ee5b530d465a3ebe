import BPF
import BpftraceSemantics
import Foundation
import KernelInfo
import KernelLoader
import NativeABI
import NativeBackend
import NativeRuntime

/// Native backend and bpftrace side by side, in one run (issue 16's targets): attach and detach
/// over the corpus programs that run natively, verify-only (and that it leaves nothing in the
/// kernel), memory per extension, events delivered under load with the drops each side reports,
/// and (with `coverage`) the differential coverage.
///
/// Native attach is script → attached: parse, resolve, generate C, clang, load, attach, BEGIN.
/// bpftrace attach is the child's start (spawn → every probe attached), as the agent measures
/// it. The two sides run one after the other for each program, never at once.
public enum NativeBench {
    static let section = "native"

    public static func run(kernel: KernelInfo, corpus: URL, rounds: Int, coverage: Bool, evalPath: String) async -> [Row] {
        if let reason = DifferentialHarness.unavailableReason(kernel: kernel) {
            return [Row(section: section, metric: "all", samples: 0, unit: "-", note: reason)]
        }
        let harness: DifferentialHarness
        do { harness = try DifferentialHarness(kernel: kernel) } catch {
            return [Row(section: section, metric: "all", samples: 0, unit: "-", note: "harness: \(error)")]
        }
        defer { harness.close() }
        if let missing = harness.nativeBackendMissing() {
            return [Row(section: section, metric: "all", samples: 0, unit: "-", note: "native backend not built: \(missing)")]
        }
        var rows: [Row] = []
        rows += await attachDetach(harness: harness, corpus: corpus, passes: max(1, rounds / 5))
        rows += await verifyOnly(harness: harness, rounds: max(5, rounds * 2))
        rows += await memory(harness: harness, count: 8)
        rows += await events(harness: harness, count: 200_000)
        if coverage {
            let programs = DifferentialPrograms.corpus(directory: corpus)
                + DifferentialPrograms.eval(path: evalPath).map(\.program) + DifferentialPrograms.tools()
            let result = await DifferentialCoverage.run(programs, harness: harness)
            let all = result.counts(nil)
            let origins = DifferentialPrograms.Origin.allCases.map { origin in
                let c = result.counts(origin)
                return "\(origin.rawValue) \(c.equal)/\(c.resolved)"
            }.joined(separator: ", ")
            rows.append(Row(section: section, metric: "coverage: output equal to bpftrace's", samples: all.resolved,
                            value: all.percentEqual, unit: "%",
                            note: "\(all.equal) of \(all.resolved) programs that resolve here (\(origins)); \(all.ranNatively) ran natively, "
                                + Agreement.allCases.map { "\(all.byAgreement[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")))
            rows.append(Row(section: section, metric: "coverage: equal, or as close as bpftrace to itself", samples: all.resolved - all.neitherRuns,
                            value: all.percentMatching, unit: "%", target: "≥ 90%",
                            note: "\(all.matching) of \(all.resolved - all.neitherRuns) programs that resolve and run here (\(all.neitherRuns) load on neither side); "
                                + "a program whose output depends on the machine matches when native agrees with bpftrace as well as two bpftrace runs agree"))
        }
        return rows
    }

    /// The corpus programs that resolve and compile natively (not those that act on processes).
    static func nativePrograms(harness: DifferentialHarness, corpus: URL) -> [(name: String, source: String)] {
        DifferentialPrograms.corpus(directory: corpus).compactMap { program in
            guard program.skipReason == nil,
                  case let .success(resolved) = harness.resolve(program.testCase.source, name: program.testCase.name),
                  case .success = harness.compile(resolved) else { return nil }
            return (program.testCase.name, program.testCase.source)
        }
    }

    static func attachDetach(harness: DifferentialHarness, corpus: URL, passes: Int) async -> [Row] {
        let programs = nativePrograms(harness: harness, corpus: corpus)
        var nativeAttach = Samples(), generate = Samples(), nativeDetach = Samples()
        var bpftraceAttach = Samples(), bpftraceDetach = Samples()
        var failures: [String] = []
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(60), verbose: false))
        let clock = ContinuousClock()
        for pass in 0..<passes {
            for (index, program) in programs.enumerated() {
                let directory = harness.workDirectory + "/attach-\(pass)-\(index)"
                defer { try? FileManager.default.removeItem(atPath: directory) }
                // bpftrace: the child's start, then its stop.
                do {
                    let (process, latency) = try await runner.startTimed(script: program.source, directory: directory + "/bpftrace")
                    bpftraceAttach.add(milliseconds(latency))
                    _ = await bpftraceDetach.time { await process.stop() }
                } catch {
                    failures.append("\(program.name) (bpftrace)")
                }
                // Native: script text → attached.
                try? FileManager.default.createDirectory(atPath: directory + "/native", withIntermediateDirectories: true)
                let start = clock.now
                guard case let .success(resolved) = harness.resolve(program.source, name: program.name),
                      case let .success(artifact) = harness.compile(resolved) else { failures.append(program.name); continue }
                generate.add(milliseconds(clock.now - start))
                do throws(NativeRuntimeError) {
                    let native = try NativeExtension.start(artifact, id: "b\(pass)x\(index)", pinRoot: harness.pinRoot,
                                                           outputDirectory: directory + "/native", onExit: { _ in })
                    nativeAttach.add(milliseconds(clock.now - start))
                    let stopStart = clock.now
                    try native.stop()
                    nativeDetach.add(milliseconds(clock.now - stopStart))
                } catch {
                    failures.append("\(program.name) (native: \(error.description.prefix(120)))")
                }
            }
        }
        let note = "\(programs.count) corpus programs that compile natively × \(passes)"
            + (failures.isEmpty ? "" : "; failed: \(failures.joined(separator: ", "))")
        return [
            nativeAttach.row(section, "attach, native (script → attached)", target: "p95 < 50 ms", note: note),
            generate.row(section, "  of which parse, resolve, generate, clang"),
            bpftraceAttach.row(section, "attach, bpftrace (child start → attached)"),
            nativeDetach.row(section, "detach, native (END, maps printed, unpinned)", target: "< 10 ms"),
            bpftraceDetach.row(section, "detach, bpftrace (SIGINT → exited)"),
        ]
    }

    static let verifyScript = """
        tracepoint:syscalls:sys_enter_openat
        {
          @opens[comm] = count();
        }
        """

    /// Native load + unload through the kernel verifier, and that no program of it remains;
    /// bpftrace's verify (a real start and stop: 0.17 cannot load without attaching).
    static func verifyOnly(harness: DifferentialHarness, rounds: Int) async -> [Row] {
        guard case let .success(resolved) = harness.resolve(verifyScript, name: "verify.bt"),
              case let .success(artifact) = harness.compile(resolved) else {
            return [Row(section: section, metric: "verify-only", samples: 0, unit: "ms", note: "the verify script did not compile natively")]
        }
        var native = Samples(), bpftrace = Samples()
        var leftPrograms = 0
        var error: String?
        let pinsBefore = (try? FileManager.default.contentsOfDirectory(atPath: harness.pinRoot)) ?? []
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            let start = clock.now
            do throws(NativeRuntimeError) {
                let loaded = try NativeExtension.verifyOnly(artifact)
                native.add(milliseconds(clock.now - start))
                leftPrograms += loaded.filter { ProgramTable.exists(id: $0.id) }.count
            } catch let failure {
                error = failure.description
            }
        }
        let pinsAfter = (try? FileManager.default.contentsOfDirectory(atPath: harness.pinRoot)) ?? []
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(60), verbose: false))
        for round in 0..<max(3, rounds / 2) {
            let directory = harness.workDirectory + "/verify-\(round)"
            _ = try? await bpftrace.time { try await runner.verify(script: verifyScript, directory: directory) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        return [
            native.row(section, "verify-only, native (load + unload)", target: "< 50 ms",
                       note: "programs still loaded after verify-only: \(leftPrograms); pins added: \(pinsAfter.count - pinsBefore.count)"
                           + (error.map { "; error: \($0)" } ?? "")),
            bpftrace.row(section, "verify-only, bpftrace (start, attach, stop)", note: "bpftrace 0.17 cannot load without attaching"),
        ]
    }

    /// Memory per extension: native, `count` extensions started in this process (RSS growth per
    /// extension + memlock of its programs and maps); bpftrace, one child per extension (its RSS
    /// + memlock of the programs and maps it holds).
    static func memory(harness: DifferentialHarness, count: Int) async -> [Row] {
        guard case let .success(resolved) = harness.resolve(verifyScript, name: "memory.bt"),
              case let .success(artifact) = harness.compile(resolved) else { return [] }
        var extensions: [NativeExtension] = []
        let before = residentBytes()
        for index in 0..<count {
            let directory = harness.workDirectory + "/memory-\(index)"
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let native = try? NativeExtension.start(artifact, id: "m\(index)", pinRoot: harness.pinRoot,
                                                       outputDirectory: directory, onExit: { _ in }) {
                extensions.append(native)
            }
        }
        let growth = residentBytes() - before
        let nativeMemlock = extensions.map { KernelMapMemory.memlock(programIDs: $0.programIDs) }.reduce(0, +)
        for native in extensions { try? native.stop() }
        var rows: [Row] = []
        if !extensions.isEmpty {
            let rss = Double(growth) / Double(extensions.count) / 1024
            let memlock = Double(nativeMemlock) / Double(extensions.count) / 1024
            rows.append(Row(section: section, metric: "memory per extension, native", samples: extensions.count,
                            value: rss + memlock, unit: "KiB", target: "< 1024 KiB",
                            note: String(format: "agent RSS growth %.0f KiB + kernel memlock %.0f KiB (programs and maps; ring buffer %d KiB)",
                                         rss, memlock, artifact.plan.ringBufferBytes / 1024)))
        }
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(60), verbose: false))
        var rssTotal = 0, memlockTotal: UInt64 = 0, children = 0
        for index in 0..<min(count, 3) {
            let directory = harness.workDirectory + "/memory-bt-\(index)"
            guard let process = try? await runner.start(script: verifyScript, directory: directory) else { continue }
            rssTotal += residentBytes(pid: process.pid)
            memlockTotal += KernelMapMemory.memlock(programIDs: process.currentProgramIDs())
            children += 1
            _ = await process.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        if children > 0 {
            let rss = Double(rssTotal) / Double(children) / 1024, memlock = Double(memlockTotal) / Double(children) / 1024
            rows.append(Row(section: section, metric: "memory per extension, bpftrace", samples: children, value: rss + memlock,
                            unit: "KiB", note: String(format: "child RSS %.0f KiB + kernel memlock %.0f KiB", rss, memlock)))
        }
        return rows
    }

    /// One process per CPU, named after the harness's comm, calls getppid as fast as it can
    /// (`count` calls in all); a program prints one line per call. Each side runs alone; the
    /// lines that reach its output log are counted, with the losses it reports itself.
    static func events(harness: DifferentialHarness, count: Int) async -> [Row] {
        let program = harness.workDirectory + "/" + harness.comm + "e"
        let source = generatorSource
        let sourcePath = harness.workDirectory + "/loop.c"
        guard FileManager.default.createFile(atPath: sourcePath, contents: Data(source.utf8)),
              runQuietly("/usr/bin/clang", ["-O2", "-o", program, sourcePath]) == 0 else {
            return [Row(section: section, metric: "events delivered", samples: 0, unit: "events/s", note: "could not build the load generator with clang")]
        }
        let comm = String((harness.comm + "e").prefix(15))
        let script = "tracepoint:syscalls:sys_enter_getppid /comm == \"\(comm)\"/ { printf(\"e %d\\n\", tid); }\n"
        var rows: [Row] = []
        let clock = ContinuousClock()
        // Native.
        if case let .success(resolved) = harness.resolve(script, name: "events.bt"), case let .success(artifact) = harness.compile(resolved) {
            let directory = harness.workDirectory + "/events-native"
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let native = try? NativeExtension.start(artifact, id: "ev", pinRoot: harness.pinRoot, outputDirectory: directory,
                                                       logLimitBytes: 1 << 30, onExit: { _ in }) {
                let start = clock.now
                let triggerSeconds = milliseconds(measure { generate(program, count: count) }) / 1000
                let (text, settled) = quietText(directory + "/stdout.log", since: start)
                try? native.stop()
                let output = ParsedOutput.parse(text)
                rows.append(eventsRow("native", output: output, count: count, triggerSeconds: triggerSeconds, deliverySeconds: settled))
            }
        }
        // bpftrace.
        let directory = harness.workDirectory + "/events-bpftrace"
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(60), verbose: false, logLimitBytes: 1 << 30))
        if let process = try? await runner.start(script: script, directory: directory) {
            let start = clock.now
            let triggerSeconds = milliseconds(measure { generate(program, count: count) }) / 1000
            let (_, settled) = quietText(directory + "/stdout.log", since: start)
            _ = await process.stop()
            let output = ParsedOutput.parse(DifferentialHarness.settledText(directory + "/stdout.log"))
            rows.append(eventsRow("bpftrace", output: output, count: count, triggerSeconds: triggerSeconds, deliverySeconds: settled))
            // The native side again, paced at the rate bpftrace let the generator reach.
            let rate = Int(Double(count) / max(triggerSeconds, 1e-6))
            if case let .success(resolved) = harness.resolve(script, name: "events.bt"), case let .success(artifact) = harness.compile(resolved) {
                let paced = harness.workDirectory + "/events-native-paced"
                try? FileManager.default.createDirectory(atPath: paced, withIntermediateDirectories: true)
                if let native = try? NativeExtension.start(artifact, id: "evp", pinRoot: harness.pinRoot, outputDirectory: paced,
                                                           logLimitBytes: 1 << 30, onExit: { _ in }) {
                    let start = clock.now
                    let seconds = milliseconds(measure { generate(program, count: count, rate: rate) }) / 1000
                    let (text, settled) = quietText(paced + "/stdout.log", since: start)
                    try? native.stop()
                    rows.append(eventsRow("native at bpftrace's rate", output: ParsedOutput.parse(text), count: count,
                                          triggerSeconds: seconds, deliverySeconds: settled))
                }
            }
        }
        return rows
    }

    /// The load generator: `argv[1]` getppid calls, as fast as possible or, with `argv[2]`,
    /// paced at that many calls per second (a burst every millisecond).
    static let generatorSource = """
        #include <stdlib.h>
        #include <sys/syscall.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
          long n = atol(argv[1]), rate = argc > 2 ? atol(argv[2]) : 0;
          if (rate <= 0) { for (long i = 0; i < n; i++) syscall(SYS_getppid); return 0; }
          long burst = rate / 1000 > 0 ? rate / 1000 : 1;
          struct timespec t;
          clock_gettime(CLOCK_MONOTONIC, &t);
          for (long i = 0; i < n;) {
            for (long k = 0; k < burst && i < n; k++, i++) syscall(SYS_getppid);
            t.tv_nsec += 1000000;
            if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
          }
          return 0;
        }

        """

    static func eventsRow(_ side: String, output: ParsedOutput, count: Int, triggerSeconds: Double, deliverySeconds: Double) -> Row {
        let delivered = output.items.filter { $0.type == "printf" }.count
        return Row(section: section, metric: "events delivered, \(side)", samples: count,
                   value: Double(delivered) / max(deliverySeconds, 1e-6), unit: "events/s",
                   note: String(format: "%d events generated at %.0f/s (one process per CPU); %d written to the log (%d missing), %d reported lost",
                                count, Double(count) / max(triggerSeconds, 1e-6), delivered, count - delivered, output.lostEvents))
    }

    /// The file's text once it has not grown for 300 ms (at most 60 s), and the seconds from
    /// `since` to its last growth.
    static func quietText(_ path: String, since: ContinuousClock.Instant) -> (String, Double) {
        let clock = ContinuousClock()
        var lastSize = -1
        var lastGrowth = clock.now
        let limit = clock.now + .seconds(60)
        while clock.now < limit {
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            if size != lastSize { lastSize = size; lastGrowth = clock.now } else if clock.now - lastGrowth > .milliseconds(300) { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (text, milliseconds(lastGrowth - since) / 1000)
    }

    /// Runs the load generator once per online CPU at the same time, `count` calls in all,
    /// `rate` calls per second in all when given.
    static func generate(_ program: String, count: Int, rate: Int? = nil) {
        let processes = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let pace = rate.map { [String(max(1, $0 / processes))] } ?? []
        let group = DispatchGroup()
        for index in 0..<processes {
            group.enter()
            DispatchQueue.global().async {
                _ = runQuietly(program, [String(count / processes + (index < count % processes ? 1 : 0))] + pace)
                group.leave()
            }
        }
        group.wait()
    }

    static func measure(_ body: () -> Void) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        body()
        return clock.now - start
    }

    /// Runs a program to completion, output discarded; its exit status (-1 if it did not run).
    static func runQuietly(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
