import ExampleStore
import Foundation
import XCTest

final class CorpusTests: XCTestCase {
    func testCorpusIsLargeWellFormedAndCoversEveryArea() throws {
        let examples = try Fixtures.corpus()
        XCTAssertGreaterThanOrEqual(examples.count, 60)
        let directory = try Fixtures.corpusDirectory()
        for example in examples {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(example.id).bt").path),
                          "\(example.id): id must match the file name")
            XCTAssertFalse(example.prompt.isEmpty, example.id)
            XCTAssertFalse(example.tags.isEmpty, example.id)
            XCTAssertEqual(example.origin, .corpus)
        }
        let tags = Set(examples.flatMap(\.tags))
        for area in ["processes", "files", "network", "scheduling", "memory", "block", "security", "actions"] {
            XCTAssertTrue(tags.contains(area), "no example tagged \(area)")
            XCTAssertGreaterThanOrEqual(examples.filter { $0.tags.contains(area) }.count, 4, area)
        }
    }

    func testDeclaredProbesAreExactlyTheProgramsProbes() throws {
        for example in try Fixtures.corpus() {
            XCTAssertEqual(Set(example.probes), Set(ProbeScanner.probes(in: example.program)), example.id)
        }
    }

    func testUnsafeMarkingMatchesTheBuiltinsUsed() throws {
        let unsafeBuiltins = ["signal(", "system(", "override("]
        for example in try Fixtures.corpus() {
            let usesUnsafe = unsafeBuiltins.contains { example.program.contains($0) }
            XCTAssertEqual(example.needsUnsafe, usesUnsafe, example.id)
        }
        XCTAssertGreaterThanOrEqual(try Fixtures.corpus().filter(\.needsUnsafe).count, 4)
    }

    func testProgramsUseThe017FieldSyntax() throws {
        for example in try Fixtures.corpus() {
            XCTAssertFalse(example.program.contains("args."), "\(example.id) uses args.f; bpftrace 0.17 needs args->f")
        }
    }

    func testMalformedFilesAreClearErrors() {
        XCTAssertThrowsError(try CorpusLoader.parse("BEGIN { exit(); }\n", path: "x.bt")) { error in
            XCTAssertTrue("\(error)".contains("ken-example"))
        }
        XCTAssertThrowsError(try CorpusLoader.parse("// ken-example: a\n// tags: x\nBEGIN {}\n", path: "a.bt")) { error in
            XCTAssertTrue("\(error)".contains("prompt"))
        }
        XCTAssertThrowsError(try CorpusLoader.parse("// ken-example: a\n// prompt: p\n// needs-unsafe: maybe\nBEGIN {}\n",
                                                    path: "a.bt"))
        XCTAssertThrowsError(try CorpusLoader.parse("// ken-example: a\n// prompt: p\n", path: "a.bt"))
    }

    func testProbeScannerIgnoresPredicatesCommentsAndStrings() {
        let program = """
        // kprobe:not_a_probe in a comment
        /* tracepoint:also:not */
        uprobe:/bin/bash:readline,
        tracepoint:syscalls:sys_enter_openat /comm == "a{b}" && pid > 1/ { printf("kprobe:x {"); }
        interval:s:1 { if (1) { exit(); } }
        END { }
        """
        XCTAssertEqual(ProbeScanner.probes(in: program),
                       ["uprobe:/bin/bash:readline", "tracepoint:syscalls:sys_enter_openat", "interval:s:1", "END"])
    }
}
