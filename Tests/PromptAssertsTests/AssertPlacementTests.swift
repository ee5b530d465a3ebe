import BpftraceSyntax
import PromptAsserts
import XCTest

/// Where the request's asserts go: before every output of the one probe that acts for a task.
final class AssertPlacementTests: XCTestCase {
    func place(_ prompt: String, _ source: String, fields: Set<String>? = nil) throws -> AssertPlacement.Result {
        let program = try XCTUnwrap(Parser.parse(source: source, file: "t.bt").program)
        return AssertPlacement.place(ConstraintExtractor.extract(prompt), in: program, fields: { _ in fields })
    }

    func testAnAssertGoesBeforeEveryOutputAtEveryDepth() throws {
        let result = try place("print every file opened by vim", """
            tracepoint:syscalls:sys_enter_openat {
              if (comm == "vim") { printf("%s\\n", str(args->filename)); @n = count(); } else { $x = 1; }
            }
            """)
        let text = Printer.print(result.program)
        XCTAssertEqual(text.components(separatedBy: "assert(comm == \"vim\", \"from the request: opened by vim\")").count - 1, 2, text)
        XCTAssertEqual(result.asserts.count, 1)
        XCTAssertTrue(result.notes.contains { $0.contains("before every output of tracepoint:syscalls:sys_enter_openat") }, "\(result.notes)")
        let reparsed = Parser.parse(source: text, file: "t.bt")
        XCTAssertNotNil(reparsed.program, "\(reparsed.diagnostics)")
    }

    func testNothingIsPlacedWhenTheOutputsAreInTwoTaskProbes() throws {
        let source = """
            tracepoint:block:block_rq_issue /comm == "dd"/ { @start[args->sector] = nsecs; }
            tracepoint:block:block_rq_complete { printf("%d\\n", nsecs - @start[args->sector]); }
            """
        let result = try place("block requests while dd is running", source)
        XCTAssertTrue(result.asserts.isEmpty)
        XCTAssertEqual(result.program, try XCTUnwrap(Parser.parse(source: source, file: "t.bt").program))
        XCTAssertTrue(result.notes.contains { $0.contains("2 probes") }, "\(result.notes)")
    }

    func testIntervalProbesAreNotTheTasksProbe() throws {
        let result = try place("Count how often python3 processes give up the CPU, printing every second", """
            tracepoint:syscalls:sys_enter_sched_yield /comm == "python3"/ { @n = count(); }
            interval:s:1 { print(@n); }
            """)
        XCTAssertEqual(result.asserts.map(\.probe), ["tracepoint:syscalls:sys_enter_sched_yield"])
        XCTAssertFalse(Printer.print(result.program).contains("interval:s:1\n{\n  assert"))
    }

    func testFieldConstraintsNeedTheField() throws {
        let signal = try place("Tell me when a process is sent SIGUSR1", """
            tracepoint:signal:signal_generate { printf("%d\\n", args->pid); }
            """, fields: ["sig", "errno", "code", "comm", "pid", "group", "result"])
        XCTAssertEqual(signal.asserts.map(\.text), ["assert(args->sig == 10, \"from the request: is sent SIGUSR1\");"])

        let noField = try place("Tell me when a process is sent SIGUSR1", """
            tracepoint:syscalls:sys_enter_openat { printf("x\\n"); }
            """, fields: ["dfd", "filename", "flags", "mode"])
        XCTAssertTrue(noField.asserts.isEmpty)
        XCTAssertTrue(noField.notes.contains { $0.contains("no signal-number field") }, "\(noField.notes)")

        let size = try place("Flag any memory mapping request larger than 64 MiB", """
            tracepoint:syscalls:sys_enter_mmap { printf("%d\\n", args->len); }
            """, fields: ["addr", "len", "prot", "flags", "fd", "off"])
        XCTAssertEqual(size.asserts.map(\.text), ["assert(args->len > 67108864, \"from the request: larger than 64 MiB\");"])

        let port = try place("Report when a TCP connection involving port 7474 is closed", """
            tracepoint:sock:inet_sock_set_state { printf("%d %d\\n", args->sport, args->dport); }
            """, fields: ["skaddr", "oldstate", "newstate", "sport", "dport", "family", "protocol"])
        XCTAssertEqual(port.asserts.map(\.text), ["assert(args->sport == 7474 || args->dport == 7474, \"from the request: port 7474\");"])
    }

    func testAProcessNameIsNotAssertedWhenTheRecordNamesAnotherTask() throws {
        let result = try place("Print when a task named sleep is woken", """
            tracepoint:sched:sched_wakeup /args->comm == "sleep"/ { printf("%d\\n", args->pid); }
            """, fields: ["comm", "pid", "prio", "target_cpu"])
        XCTAssertTrue(result.asserts.isEmpty, "the woken task is not the current one")
        XCTAssertTrue(result.notes.contains { $0.contains("args->comm") }, "\(result.notes)")
    }

    func testDurationsAndPathsAreReportedNotAsserted() throws {
        let result = try place("print files under /etc/ opened by cat that take longer than 10 ms", """
            tracepoint:syscalls:sys_enter_openat /comm == "cat"/ { printf("x\\n"); }
            """, fields: ["filename"])
        XCTAssertEqual(result.asserts.count, 1, "only the process name")
        XCTAssertTrue(result.notes.contains { $0.contains("/etc/") && $0.contains("user memory") }, "\(result.notes)")
        XCTAssertTrue(result.notes.contains { $0.contains("longer than 10 ms") && $0.contains("duration") }, "\(result.notes)")
    }
}
