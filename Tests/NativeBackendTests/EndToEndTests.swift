import Foundation
import NativeABI
import NativeBackend
import NativeRuntime
import XCTest

/// The generator and the agent's output runtime together: a script compiled here runs under
/// `NativeExtension` (BEGIN test-run, tracepoint attached, END at stop, maps printed), and its
/// output is what bpftrace 0.17 prints with `-f json`. No bpftrace process is involved.
final class EndToEndTests: XCTestCase {
    func testGeneratedScriptRunsUnderTheNativeRuntime() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to run BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
        let comm = "kengen" + String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement() ?? "x" })
        let source = """
        BEGIN { printf("hello %d %s\\n", 6 * 7, "there"); }
        tracepoint:syscalls:sys_enter_openat /comm == "\(comm)"/ {
          printf("open %s by %s\\n", str(args->filename), comm);
          @opens[comm] = count();
        }
        END { printf("bye %d\\n", (int8)-1); }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        // A copy of cat with the unique name opens a file the probe reports.
        let copy = NSTemporaryDirectory() + comm
        try FileManager.default.copyItem(atPath: "/bin/cat", toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let text = try NativeFixtures.withExtension(artifact) { running, output in
            let cat = Process()
            cat.executableURL = URL(fileURLWithPath: copy)
            cat.arguments = ["/etc/hostname"]
            cat.standardOutput = FileHandle.nullDevice
            cat.standardError = FileHandle.nullDevice
            try cat.run()
            cat.waitUntilExit()
            usleep(200_000)
            try running.stop()
            return NativeFixtures.log(output)
        }
        XCTAssertTrue(text.contains(#"{"type": "printf", "data": "hello 42 there\n"}"#), text)
        XCTAssertTrue(text.contains(#"open /etc/hostname by \#(comm)\n"#), text)
        XCTAssertTrue(text.contains(#"{"type": "printf", "data": "bye -1\n"}"#), text)
        XCTAssertTrue(text.contains("\"@opens\"") && text.contains("\"\(comm)\""), text)
    }

    /// An interval probe that aggregates and calls exit(): the runtime stops the extension by
    /// itself, runs END and prints the maps (count read back in the probe, hist, lhist).
    func testIntervalAggregationsAndExit() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to run BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
        let source = """
        interval:ms:50 { @ticks = count(); @h = hist(5); @l = lhist(25, 0, 100, 10); if (@ticks >= 3) { exit(); } }
        END { printf("end after %d ticks\\n", 3); }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        let exited = expectation(description: "exit() stops the extension")
        let text = try NativeFixtures.withExtension(artifact, onExit: { _ in exited.fulfill() }) { running, output in
            wait(for: [exited], timeout: 10)
            XCTAssertFalse(running.isRunning)
            return NativeFixtures.log(output)
        }
        XCTAssertTrue(text.contains(#"{"type": "printf", "data": "end after 3 ticks\n"}"#), text)
        XCTAssertTrue(text.contains(#""@ticks": 3"#), text)
        XCTAssertTrue(text.contains("\"@h\"") && text.contains("\"@l\""), text)
    }

    /// `elapsed` counts from the extension's start: the generator adds a BEGIN that stores it.
    func testElapsedCountsFromTheStart() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to run BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
        let source = "interval:ms:300 { printf(\"tenths %d\\n\", elapsed / 100000000); exit(); }"
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        XCTAssertEqual(artifact.plan.probes.first, NativeProbe(programName: "ken_begin_clock", attachPoint: "BEGIN", attach: .begin))
        let exited = expectation(description: "exit() stops the extension")
        let text = try NativeFixtures.withExtension(artifact, onExit: { _ in exited.fulfill() }) { running, output in
            wait(for: [exited], timeout: 10)
            XCTAssertFalse(running.isRunning)
            return NativeFixtures.log(output)
        }
        let tenths = text.components(separatedBy: "tenths ").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        XCTAssertNotNil(tenths, text)
        XCTAssertGreaterThanOrEqual(tenths ?? 0, 2, "the first tick comes about 300 ms after the start: \(text)")
    }
}
