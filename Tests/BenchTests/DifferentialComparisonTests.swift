import Bench
import Foundation
import KernelInfo
import XCTest

/// The differential suite's comparison of `bpftrace -f json` lines (Sources/Bench/Differential).
final class DifferentialComparisonTests: XCTestCase {
    func testParsingDropsAnnouncementsCountsLostEventsAndCanonicalisesMaps() {
        let text = """
            {"type": "attached_probes", "data": {"probes": 1}}
            {"type": "printf", "data": "hi -4 x\\n"}

            {"type": "lost_events", "data": {"events": 12}}
            {"type": "map", "data": {"@m": {"b": 1, "a": 3}}}
            ERROR: a warning on stdout
            """
        let parsed = ParsedOutput.parse(text)
        XCTAssertEqual(parsed.items, [OutputItem(type: "printf", data: "\"hi -4 x\\n\""),
                                      OutputItem(type: "map", data: #"{"@m":{"a":3,"b":1}}"#)])
        XCTAssertEqual(parsed.lostEvents, 12)
        XCTAssertEqual(parsed.otherLines, ["ERROR: a warning on stdout"])
        XCTAssertEqual(parsed.items[1].mapName, "@m")
        XCTAssertTrue(parsed.printedText.hasPrefix("hi -4 x\n"))
    }

    func testAgreementLevelsFromExactToDifferent() {
        func output(_ lines: String...) -> ParsedOutput { ParsedOutput.parse(lines.joined(separator: "\n")) }
        let a = output(#"{"type": "printf", "data": "x 1\n"}"#, #"{"type": "map", "data": {"@c": {"sh": 2, "ls": 1}}}"#)
        XCTAssertEqual(Agreement.of(a, output(#"{"type": "printf", "data": "x 1\n"}"#, #"{"type": "map", "data": {"@c": {"ls": 1, "sh": 2}}}"#)), .equal,
                       "a map's keys in another order are the same map")
        XCTAssertEqual(Agreement.of(a, output(#"{"type": "map", "data": {"@c": {"ls": 1, "sh": 2}}}"#, #"{"type": "printf", "data": "x 1\n"}"#)),
                       .equalUnordered)
        XCTAssertEqual(Agreement.of(a, output(#"{"type": "printf", "data": "x 7\n"}"#, #"{"type": "map", "data": {"@c": {"ls": 1, "sh": 9}}}"#)),
                       .sameShape)
        XCTAssertEqual(Agreement.of(a, output(#"{"type": "printf", "data": "y\n"}"#, #"{"type": "map", "data": {"@c": {"cc1": 4}}}"#)),
                       .sameMaps)
        XCTAssertEqual(Agreement.of(a, output(#"{"type": "hist", "data": {"@c": []}}"#)), .different)
        XCTAssertTrue(Agreement.equalUnordered.isEqual)
        XCTAssertFalse(Agreement.sameShape.isEqual)
        XCTAssertTrue(describeDifference(native: a, reference: output(#"{"type": "printf", "data": "x 1\n"}"#)).contains("@c"))
    }

    /// The reference side alone, against the installed bpftrace: its JSON lines are read back.
    func testBpftraceSideOfTheHarnessReadsItsOutput() async throws {
        let kernel = KernelInfo.shared()
        guard getuid() == 0 else { throw XCTSkip("running bpftrace needs root") }
        if let reason = DifferentialHarness.unavailableReason(kernel: kernel) { throw XCTSkip(reason) }
        let harness = try DifferentialHarness(kernel: kernel)
        defer { harness.close() }
        let result = await harness.runBpftrace(DifferentialCase(
            name: "bpftrace side",
            source: "tracepoint:syscalls:sys_enter_openat /comm == \"{{COMM}}\" && str(args->filename) == \"/etc/hostname\"/ { printf(\"%s\\n\", comm); @opens = count(); }\n",
            trigger: "read x </etc/hostname; read x </etc/hostname"))
        let output = try result.get()
        XCTAssertEqual(output.items, [OutputItem(type: "printf", data: "\"\(harness.comm)\\n\""),
                                      OutputItem(type: "printf", data: "\"\(harness.comm)\\n\""),
                                      OutputItem(type: "map", data: #"{"@opens":2}"#)])
    }
}

/// The coverage arithmetic: what counts as resolved, equal, matching and unrunnable.
final class DifferentialCoverageCountTests: XCTestCase {
    func testCountsSeparateEqualMatchingAndUnrunnable() {
        let ok = Result<ParsedOutput, DifferentialFailure>.success(ParsedOutput(items: [], lostEvents: 0, otherLines: []))
        let failed = Result<ParsedOutput, DifferentialFailure>.failure(DifferentialFailure("refused"))
        var coverage = DifferentialCoverage()
        coverage.entries = [
            .init(origin: .corpus, name: "equal", result: DifferentialResult(name: "equal", native: .ran, bpftrace: ok, agreement: .equal)),
            .init(origin: .corpus, name: "noisy", result: DifferentialResult(name: "noisy", native: .ran, bpftrace: ok, agreement: .sameShape,
                                                                              bpftraceSelfAgreement: .sameMaps)),
            .init(origin: .corpus, name: "worse", result: DifferentialResult(name: "worse", native: .ran, bpftrace: ok, agreement: .sameMaps,
                                                                              bpftraceSelfAgreement: .equal)),
            .init(origin: .tools, name: "fentry", result: DifferentialResult(name: "fentry", native: .runtimeFailed("EPERM"), bpftrace: failed)),
            .init(origin: .tools, name: "gap", result: DifferentialResult(name: "gap", native: .unsupported("ustack"), bpftrace: failed)),
            .init(origin: .tools, name: "kprobe", result: DifferentialResult(name: "kprobe", native: .unresolved("no kprobes"), bpftrace: failed)),
            .init(origin: .eval, name: "signal", result: nil, skipReason: "acts on processes"),
        ]
        let all = coverage.counts(nil)
        XCTAssertEqual(all.programs, 7)
        XCTAssertEqual(all.skipped, 1)
        XCTAssertEqual(all.resolved, 5, "unresolved and skipped programs are outside the figure")
        XCTAssertEqual(all.equal, 1)
        XCTAssertEqual(all.matching, 2, "a noisy program matches when native is as close to bpftrace as bpftrace to itself")
        XCTAssertEqual(all.neitherRuns, 1)
        XCTAssertEqual(all.percentMatching, 50, "2 of the 4 that run here")
        XCTAssertEqual(coverage.counts(.tools).resolved, 2)
        XCTAssertTrue(coverage.render().contains("fentry: runs on neither side here"))
    }
}
