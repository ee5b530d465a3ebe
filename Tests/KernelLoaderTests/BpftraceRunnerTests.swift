import BPF
import Foundation
import KernelLoader
import XCTest

/// Real bpftrace children attaching real tracepoints.
final class BpftraceRunnerTests: XCTestCase {
    private var directories: [String] = []

    override func tearDown() {
        if ProcessInfo.processInfo.environment["KEN_KEEP_TEST_DIRS"] == nil {
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        }
        directories = []
    }

    private func prerequisites() throws -> BpftraceRunner {
        try KernelTestSupport.requireRoot()
        try KernelTestSupport.requireTracefs()
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(30)))
        do { _ = try runner.executable() } catch { throw XCTSkip("bpftrace not installed: \(error)") }
        return runner
    }

    private func directory() throws -> String {
        let path = try KernelTestSupport.temporaryDirectory("ken-bt")
        directories.append(path)
        return path
    }

    func testTracepointScriptAttachesPrintsIsListedAndStops() async throws {
        let runner = try prerequisites()
        let marker = "/tmp/ken-probe-\(UUID().uuidString.prefix(8))"
        let script = """
        tracepoint:syscalls:sys_enter_openat /str(args->filename) == "\(marker)"/ {
            printf("opened %s\\n", str(args->filename));
        }
        """
        let (process, attachLatency) = try await runner.startTimed(script: script, directory: try directory())
        let lines = process.lines()
        XCTAssertNil(process.exitStatus)
        XCTAssertFalse(process.attachedProgramIDs.isEmpty, "bpftrace holds its programs' fds")

        // Its programs are in the kernel table and in bpftool's.
        let table = try ProgramTable.all()
        for id in process.attachedProgramIDs {
            let program = try XCTUnwrap(table.first { $0.id == id }, "program \(id) listed")
            XCTAssertEqual(program.typeName, "tracepoint")
            XCTAssertEqual(program.tag.count, 16)
            XCTAssertNotNil(program.bytesMemlock)
        }
        let bpftool = try KernelTestSupport.bpftoolProgramIDs()
        for id in process.attachedProgramIDs {
            let entry = try XCTUnwrap(bpftool[id], "bpftool lists program \(id)")
            let memlock = (entry["bytes_memlock"] as? NSNumber)?.uint64Value
            XCTAssertEqual(memlock, ProgramTable.program(id: id)?.bytesMemlock)
            XCTAssertEqual(entry["tag"] as? String, ProgramTable.program(id: id)?.tag)
        }

        // Trigger the probe until its printf arrives.
        let trigger = Task.detached {
            while !Task.isCancelled {
                let fd = open(marker, O_RDONLY)
                if fd >= 0 { close(fd) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let received = await KernelTestSupport.firstLine(in: lines) { $0.kind == .printf }
        trigger.cancel()
        XCTAssertEqual(received?.text, "opened \(marker)")
        XCTAssertEqual(received?.stream, .stdout)

        let ids = process.attachedProgramIDs
        let clock = ContinuousClock()
        let stopStart = clock.now
        let status = await process.stop()
        let gone = await KernelTestSupport.waitUntil { ids.allSatisfy { !ProgramTable.exists(id: $0) } }
        let detachLatency = clock.now - stopStart
        XCTAssertEqual(status, .exited(code: 0))
        XCTAssertNotNil(gone, "programs leave the kernel after stop")
        print("bpftrace attach latency: \(KernelTestSupport.milliseconds(attachLatency)) ms; "
              + "stop+unload latency: \(KernelTestSupport.milliseconds(detachLatency)) ms")
    }

    func testUnknownTracepointFailsWithBpftraceMessage() async throws {
        let runner = try prerequisites()
        do {
            let process = try await runner.start(script: "tracepoint:syscalls:sys_enter_no_such_call { printf(\"x\\n\"); }",
                                                 directory: try directory())
            await process.stop()
            XCTFail("an unknown tracepoint must not attach")
        } catch let error as BpftraceError {
            guard case .exitedBeforeAttach(let status, let output) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertNotEqual(status, .exited(code: 0))
            XCTAssertTrue(output.contains("sys_enter_no_such_call"), output)
            XCTAssertTrue(output.contains("ERROR"), output)
        }
    }

    func testSemanticErrorFailsWithBpftraceMessage() async throws {
        let runner = try prerequisites()
        do {
            let process = try await runner.start(
                script: "tracepoint:syscalls:sys_enter_getpid { printf(\"%d\\n\", $undefined); }",
                directory: try directory())
            await process.stop()
            XCTFail("a script using an undefined variable must not attach")
        } catch let error as BpftraceError {
            XCTAssertTrue(error.output.contains("Undefined or undeclared variable"), error.description)
            XCTAssertTrue(error.output.contains("$undefined"), error.description)
        }
    }

    func testVerifierRejectionCarriesVerifierLog() async throws {
        let runner = try prerequisites()
        // LLVM compiles this to a jump to itself; the kernel verifier refuses the infinite loop.
        let script = "tracepoint:syscalls:sys_enter_getpid { $i = 0; while ($i < 1) { $i = $i * 1; } }"
        do {
            let process = try await runner.start(script: script, directory: try directory())
            await process.stop()
            XCTFail("the verifier must refuse an infinite loop")
        } catch let error as BpftraceError {
            guard case .exitedBeforeAttach = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue(error.output.contains("infinite loop detected"), error.description)
            XCTAssertTrue(error.output.contains("Error loading program"), error.description)
        }
    }

    func testKilledChildIsNoticedAtOnce() async throws {
        let runner = try prerequisites()
        let process = try await runner.start(script: "tracepoint:syscalls:sys_enter_getpid { @calls = count(); }",
                                             directory: try directory())
        let ids = process.attachedProgramIDs
        XCTAssertEqual(kill(process.pid, SIGKILL), 0)
        let clock = ContinuousClock()
        let start = clock.now
        let status = await process.waitForExit()
        let noticed = clock.now - start
        XCTAssertEqual(status, .signaled(signal: SIGKILL))
        XCTAssertLessThan(noticed, .milliseconds(500))
        let gone = await KernelTestSupport.waitUntil { ids.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertNotNil(gone, "the kernel drops a killed bpftrace's programs")
    }

    func testAdoptedProcessIsSupervisedAndStoppable() async throws {
        let runner = try prerequisites()
        let dir = try directory()
        let original = try await runner.start(script: "tracepoint:syscalls:sys_enter_getppid { printf(\"ppid %d\\n\", pid); }",
                                              directory: dir)
        // A second supervisor (as after an agent restart) takes the same process over.
        let adopted = try BpftraceRunner().adopt(pid: original.pid, directory: dir)
        XCTAssertTrue(adopted.isAdopted)
        XCTAssertEqual(adopted.attachedProgramIDs, original.attachedProgramIDs)

        // Its output can still be followed: from the log file, not a pipe.
        let lines = adopted.lines()
        let trigger = Task.detached {
            while !Task.isCancelled {
                _ = getppid()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let printed = await KernelTestSupport.firstLine(in: lines) {
            $0.kind == .printf && $0.text.hasPrefix("ppid ")
        }
        trigger.cancel()
        XCTAssertNotNil(printed)

        // A pid that is not this extension's bpftrace is refused.
        XCTAssertThrowsError(try BpftraceRunner().adopt(pid: getpid(), directory: dir))
        XCTAssertThrowsError(try BpftraceRunner().adopt(pid: 999_999_999, directory: dir))

        let status = await adopted.stop()
        XCTAssertEqual(status, .unknown, "an adopted process's status is not knowable")
        let originalStatus = await original.waitForExit()
        XCTAssertEqual(originalStatus, .exited(code: 0))
        XCTAssertTrue(adopted.recentOutput().stdout.contains("attached_probes"))
    }

    func testVerifyLoadsThenUnloads() async throws {
        let runner = try prerequisites()
        let verification = try await runner.verify(script: "tracepoint:syscalls:sys_enter_getpid { @n = count(); }",
                                                   directory: try directory())
        XCTAssertFalse(verification.programs.isEmpty)
        XCTAssertTrue(verification.output.contains("processed"), "verbose output carries the verifier's summary")
        let ids = verification.programs.map(\.id)
        let gone = await KernelTestSupport.waitUntil { ids.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertNotNil(gone)
    }

    func testScriptThatEndsByItselfIsNotAFailure() async throws {
        let runner = try prerequisites()
        let process = try await runner.start(script: "BEGIN { printf(\"hello\\n\"); exit(); }", directory: try directory())
        let status = await process.waitForExit()
        XCTAssertEqual(status, .exited(code: 0))
        XCTAssertTrue(process.recentOutput().stdout.contains("hello"))
    }

    func testAttachTimeoutStopsTheChildAndReportsOutput() async throws {
        _ = try prerequisites()
        let runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .milliseconds(1)))
        let dir = try directory()
        do {
            let process = try await runner.start(script: "tracepoint:syscalls:sys_enter_getpid { @n = count(); }",
                                                 directory: dir)
            await process.stop()
            XCTFail("1 ms is too short to attach")
        } catch BpftraceError.attachTimedOut(let seconds, _) {
            XCTAssertEqual(seconds, 0.001, accuracy: 1e-9)
        }
        // The child was stopped: nothing of it runs any more.
        let others = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init)
            .filter { pid in
                let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                return cmdline.contains(dir + "/script.bt")
            }
        XCTAssertEqual(others, [])
    }
}
