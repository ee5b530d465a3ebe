import KernelLoader
import XCTest

/// `kenc logs` shows what bpftrace would have printed in text mode; the lines here are bpftrace
/// 0.17's real `-f json` output for `@n = count(); @c[...] = count(); hist(); lhist(); stats()`.
final class ExtensionOutputTests: XCTestCase {
    func render(_ raw: String, _ stream: OutputLine.Stream = .stdout) -> String? {
        ExtensionOutput.render(OutputLine.decode(raw, stream: stream))
    }

    func testDiagnosticsAreLeftOut() {
        XCTAssertNil(render("ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try \"ulimit -l 8192\" to fix the problem", .stderr))
        XCTAssertNil(render("INFO: node count: 6", .stderr))
        XCTAssertNil(render("processed 21 insns (limit 1000000) max_states_per_insn 0", .stderr))
        XCTAssertNil(render(#"{"type": "attached_probes", "data": {"probes": 1}}"#))
    }

    func testPrintfTimeAndMapsReadAsBpftracePrintsThem() {
        XCTAssertEqual(render(#"{"type": "printf", "data": "hi 3\n"}"#), "hi 3")
        XCTAssertEqual(render(#"{"type": "time", "data": "23\n"}"#), "23")
        // join(), as bpftrace 0.17 and the native runtime both print it (no newline in data).
        XCTAssertEqual(render(#"{"type": "join", "data": "/bin/ls /"}"#), "/bin/ls /")
        XCTAssertEqual(render(#"{"type": "map", "data": {"@n": 1}}"#), "@n: 1")
        XCTAssertEqual(render(#"{"type": "map", "data": {"@c": {"b": 2, "a": 1}}}"#), "@c[a]: 1\n@c[b]: 2")
        XCTAssertEqual(render(#"{"type": "stats", "data": {"@s": {"count": 2, "average": 5, "total": 10}}}"#),
                       "@s: count 2, average 5, total 10")
        XCTAssertEqual(render(#"{"type": "lost_events", "data": {"events": 12}}"#), "Lost 12 events")
        // print(value), as bpftrace 0.17 prints -3, "s" and (1, "x") in text mode.
        XCTAssertEqual(render(#"{"type": "value", "data": -3}"#), "-3")
        XCTAssertEqual(render(#"{"type": "value", "data": "s"}"#), "s")
        XCTAssertEqual(render(#"{"type": "value", "data": [1,"x"]}"#), "(1, x)")
    }

    func testHistogramsHaveBpftracesLabelsCountsAndBars() throws {
        let text = try XCTUnwrap(render(#"{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 2}, {"min": 8, "max": 15, "count": 0}, {"min": 1024, "max": 2047, "count": 1}]}}"#))
        let full = String(repeating: "@", count: 52)
        let half = String(repeating: "@", count: 26) + String(repeating: " ", count: 26)
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), [
            "@h: ",
            "[4, 8)                 2 |\(full)|",
            "[8, 16)                0 |\(String(repeating: " ", count: 52))|",
            "[1K, 2K)               1 |\(half)|",
        ])
    }
}
