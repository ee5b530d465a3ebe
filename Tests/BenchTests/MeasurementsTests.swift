import Bench
import Foundation
import XCTest

/// ken-bench's arithmetic and table, reached through the Bench library.
final class MeasurementsTests: XCTestCase {
    func testPercentilesAreNearestRank() {
        var samples = Samples()
        for value in 1...20 { samples.add(Double(value)) }
        XCTAssertEqual(samples.percentile(50), 10)
        XCTAssertEqual(samples.percentile(95), 19)
        XCTAssertEqual(samples.percentile(99), 20)
        XCTAssertEqual(samples.count, 20)
        XCTAssertNil(Samples().percentile(50), "no samples, no percentile")
    }

    func testTableAlignsColumnsAndListsNotes() {
        var samples = Samples()
        samples.add(1.5)
        samples.add(250)
        let rows = [samples.row("kend", "overhead per attempt", target: "p95 < 1000 ms", note: "two programs"),
                    Row(section: "agent", metric: "all", samples: 0, unit: "-", note: "not root")]
        let lines = renderTable(rows).split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("section"))
        XCTAssertTrue(lines[1].allSatisfy { $0 == "-" })
        XCTAssertTrue(lines[2].contains("overhead per attempt") && lines[2].contains("250") && lines[2].contains("1.50"))
        XCTAssertEqual(lines[2].count, lines[3].count, "rows are padded to the same width")
        XCTAssertTrue(lines.contains("  kend/overhead per attempt: two programs"))
        XCTAssertTrue(lines.contains("  agent/all: not root"))
    }

    /// The verifier section over the shipped annotated corpus: one row, every program measured.
    func testVerifierSectionMeasuresTheAnnotatedCorpus() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let annotated = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("corpus/annotated").path)
            .filter { $0.hasSuffix(".bt") }
        XCTAssertFalse(annotated.isEmpty)
        let rows = await BenchSuite.run(sections: ["verifier"], rounds: 1, prompts: 0,
                                        corpus: root.appendingPathComponent("corpus/examples"))
        let row = try XCTUnwrap(rows.first { $0.section == "verifier" })
        XCTAssertGreaterThan(row.samples, 0, row.note ?? "")
        XCTAssertLessThanOrEqual(row.samples, annotated.count)
        XCTAssertNotNil(row.p95)
        XCTAssertTrue(row.note?.contains("VERIFIED") == true || row.note?.contains("verified") == true, row.note ?? "")
    }
}
