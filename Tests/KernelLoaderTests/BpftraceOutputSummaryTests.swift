import KernelLoader
import XCTest

/// The headline of a rejection is its cause, not the lines bpftrace prints on every run.
final class BpftraceOutputSummaryTests: XCTestCase {
    /// bpftrace 0.17's output for an LLM-written program including a kernel header this machine
    /// does not have: the RLIMIT_MEMLOCK line comes first, the cause two lines later.
    func testMissingHeaderIsTheHeadlineNotRlimitMemlock() {
        let output = """
            ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem
            INFO: node count: 12
            /bpftrace/include/definitions.h:1:10: fatal error: 'uapi/linux/ptrace.h' file not found
            #include <uapi/linux/ptrace.h>
                     ^~~~~~~~~~~~~~~~~~~~~
            """
        XCTAssertEqual(BpftraceOutputSummary.headline(output),
                       "/bpftrace/include/definitions.h:1:10: fatal error: 'uapi/linux/ptrace.h' file not found")
    }

    func testBpftraceErrorAfterTheMemlockLine() {
        let output = """
            ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem
            /var/lib/ken/extensions/0123abcd/script.bt:1:1-40: ERROR: tracepoint not found: syscalls:sys_enter_nope
            """
        XCTAssertEqual(BpftraceOutputSummary.headline(output),
                       "/var/lib/ken/extensions/0123abcd/script.bt:1:1-40: ERROR: tracepoint not found: syscalls:sys_enter_nope")
    }

    func testVerifierComplaintWhenNoErrorLine() {
        let output = """
            INFO: node count: 7
            Attaching 1 probe...
            R1 invalid mem access 'scalar'
            processed 12 insns (limit 1000000)
            """
        XCTAssertEqual(BpftraceOutputSummary.headline(output), "R1 invalid mem access 'scalar'")
    }

    func testNothingButNoiseHasNoHeadline() {
        XCTAssertNil(BpftraceOutputSummary.headline("INFO: node count: 3\n\n{\"type\": \"attached_probes\"}\n"))
        XCTAssertNil(BpftraceOutputSummary.headline(""))
    }
}
