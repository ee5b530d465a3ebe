import PromptAsserts
import XCTest

/// What the extractor reads from a request's words, and — as important — what it refuses to read.
final class ConstraintExtractorTests: XCTestCase {
    func kinds(_ prompt: String) -> [PromptConstraint.Kind] {
        ConstraintExtractor.extract(prompt).constraints.map(\.kind)
    }

    func processNames(_ prompt: String) -> [String]? {
        for kind in kinds(prompt) {
            if case .processName(let names) = kind { return names }
        }
        return nil
    }

    func testProcessNamesStatedOutright() {
        XCTAssertEqual(processNames("print every file opened by vim"), ["vim"])
        XCTAssertEqual(processNames("count syscalls made by nginx, per syscall"), ["nginx"])
        XCTAssertEqual(processNames("trace the processes named nginx"), ["nginx"])
        XCTAssertEqual(processNames("Report the status code passed to exit_group by programs called false"), ["false"])
        XCTAssertEqual(processNames("Print the name and pid of each task named seq as it finishes"), ["seq"])
        XCTAssertEqual(processNames("Whenever the uname utility is launched, print UNAME-RUN"), ["uname"])
        XCTAssertEqual(processNames("Print the paths that the tee command opens"), ["tee"])
        XCTAssertEqual(processNames("Count how often python3 processes give up the CPU"), ["python3"])
        XCTAssertEqual(processNames("Print each block request issued while dd is running"), ["dd"])
        XCTAssertEqual(processNames("Each time a shell (sh or bash) forks, show the parent pid"), ["sh", "bash"])
        XCTAssertEqual(processNames("files created by touch or cp"), ["touch", "cp"])
        XCTAssertEqual(processNames("Kill any process named kenevalnap with SIGKILL"), ["kenevalnap"])
    }

    func testNoProcessNameFromAmbiguousOrNegatedPhrases() {
        XCTAssertNil(processNames("Show programs that update file times, like touch does"), "an analogy names no filter")
        XCTAssertNil(processNames("print files opened by any process"))
        XCTAssertNil(processNames("print files opened by a program"))
        XCTAssertNil(processNames("print files opened by the new process"))
        XCTAssertNil(processNames("print files not opened by vim"))
        XCTAssertNil(processNames("print files opened by programs other than vim"))
        XCTAssertNil(processNames("print files except those opened by vim"))
        XCTAssertNil(processNames("Log UDP datagrams that python3 sends"), "a bare subject is not stated as a filter")
        XCTAssertNil(processNames("show a file named notes.txt being opened"), "a file's name is not a process name")
        XCTAssertNil(processNames("count opens by each process"))
        XCTAssertNil(processNames("files opened by vim, and the programs named cat"), "two different names: no assert")
        XCTAssertNil(processNames("trace the process named averyveryverylongname"), "longer than a task name keeps")
        let skipped = ConstraintExtractor.extract("print files not opened by vim").skipped
        XCTAssertTrue(skipped.contains { $0.reason.contains("negated") }, "\(skipped)")
    }

    func testPidUidAndPort() {
        XCTAssertEqual(kinds("trace the reads of pid 4242"), [.pid(4242)])
        XCTAssertEqual(kinds("show files opened by uid 1000"), [.uid(1000)])
        XCTAssertEqual(kinds("When something starts a TCP connection to port 6553, print the port"),
                       [.port(6553, direction: .destination)])
        XCTAssertEqual(kinds("Report when a TCP connection involving port 7474 is closed"), [.port(7474, direction: .either)])
        XCTAssertEqual(kinds("connections from local port 22"), [.port(22, direction: .source)])
        XCTAssertEqual(kinds("Print the local port whenever a TCP socket enters LISTEN"), [], "no number, no constraint")
        XCTAssertEqual(kinds("connections to port 70000"), [], "not a port")
        XCTAssertEqual(kinds("reads of pid 1 or pid 2"), [], "two values: ambiguous")
        XCTAssertEqual(kinds("everything except pid 1"), [])
    }

    func testSignalsAreFiltersOnlyWhenObserved() {
        XCTAssertEqual(kinds("Tell me when a process is sent SIGUSR1 and which pid"), [.signal(number: 10, name: "SIGUSR1")])
        XCTAssertEqual(kinds("when any task receives signal 15"), [.signal(number: 15, name: "signal 15")])
        XCTAssertEqual(kinds("print when SIGTERM is delivered"), [.signal(number: 15, name: "SIGTERM")])
        XCTAssertEqual(kinds("Kill any process named kenevalnap with SIGKILL").filter {
            if case .signal = $0 { return true } else { return false }
        }, [], "SIGKILL is what to send, not a filter")
        XCTAssertEqual(kinds("Print when a termination signal is generated"), [], "which signal is not said")
        XCTAssertEqual(kinds("when a process is sent SIGFOO"), [])
        XCTAssertTrue(ConstraintExtractor.extract("when a process is sent SIGFOO").skipped.contains { $0.reason.contains("not a Linux signal") })
    }

    func testThresholdsWithExplicitUnitsOnly() {
        XCTAssertEqual(kinds("Flag any memory mapping request larger than 64 MiB"), [.minimumBytes(64 << 20, inclusive: false)])
        XCTAssertEqual(kinds("reads of at least 4096 bytes"), [.minimumBytes(4096, inclusive: true)])
        XCTAssertEqual(kinds("disk requests longer than 10 ms"), [.minimumDuration(10_000_000, inclusive: false)])
        XCTAssertEqual(kinds("writes bigger than 10 MB"), [], "MB may be 10^6 or 2^20")
        XCTAssertTrue(ConstraintExtractor.extract("writes bigger than 10 MB").skipped.contains { $0.reason.contains("1024") })
        XCTAssertEqual(kinds("Show processes handing back at least a megabyte of memory"), [], "no number")
    }

    func testPathsAreReported() {
        XCTAssertEqual(kinds("Tell me whenever something opens /etc/hostname"), [.path("/etc/hostname", prefix: false)])
        XCTAssertEqual(kinds("Whenever a path beginning with /tmp/ken-eval gets unlinked"), [.path("/tmp/ken-eval", prefix: true)])
        XCTAssertEqual(kinds("Show block I/O being queued"), [], "I/O is not a path")
    }
}
