import Foundation
import XCTest
@testable import BpftraceSyntax

/// The bpftrace tools shipped with the system are the realistic corpus: every one must parse
/// cleanly and survive print → re-parse unchanged.
final class ToolScriptTests: XCTestCase {
    static func toolScripts() throws -> [(name: String, text: String)] {
        let dir = "/usr/sbin"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw XCTSkip("cannot list \(dir)")
        }
        let scripts = try names.filter { $0.hasSuffix(".bt") }.sorted().map { name in
            (name, try String(contentsOfFile: dir + "/" + name, encoding: .utf8))
        }
        if scripts.isEmpty { throw XCTSkip("no bpftrace tool scripts in \(dir)") }
        return scripts
    }

    func testAllToolScriptsParseWithoutDiagnostics() throws {
        let scripts = try Self.toolScripts()
        XCTAssertEqual(scripts.count, 38, "expected the 38 tools of bpftrace 0.17")
        for (name, text) in scripts {
            let result = Parser.parse(source: text, file: name)
            XCTAssertEqual(result.diagnostics, [], "\(name):\n" + Diagnostic.render(result.diagnostics, source: text))
            XCTAssertNotNil(result.program, name)
            XCTAssertFalse(result.program?.probes.isEmpty ?? true, name)
        }
    }

    func testPrintThenReparseGivesEqualTree() throws {
        for (name, text) in try Self.toolScripts() {
            guard let program = Parser.parse(source: text, file: name).program else {
                XCTFail("\(name) did not parse")
                continue
            }
            let printed = Printer.print(program)
            let reparsed = Parser.parse(source: printed, file: name + ".printed")
            XCTAssertEqual(reparsed.diagnostics, [], "\(name) printed:\n\(printed)\n" + Diagnostic.render(reparsed.diagnostics, source: printed))
            guard let again = reparsed.program else { continue }
            XCTAssertTrue(program.isStructurallyEqual(to: again), "\(name): round trip changed the tree\n\(printed)")
            // Printing is a fixed point.
            XCTAssertEqual(Printer.print(again), printed, name)
        }
    }

    func testToolScriptsLowerToOldestDialectWithoutDiagnostics() throws {
        for (name, text) in try Self.toolScripts() {
            guard let program = Parser.parse(source: text, file: name).program else {
                XCTFail("\(name) did not parse")
                continue
            }
            let lowered = Printer.print(program, dialect: .v0_17)
            XCTAssertEqual(lowered.diagnostics, [], name)
            let reparsed = Parser.parse(source: lowered.text, file: name)
            XCTAssertEqual(reparsed.diagnostics, [], name)
            // Lowering to the newest dialect changes nothing.
            XCTAssertEqual(Printer.print(program, dialect: .latest), PrintResult(text: Printer.print(program), diagnostics: []), name)
        }
    }
}

/// Real bpftrace (0.17 here) must accept what lowering prints.
final class RealBpftraceAcceptanceTests: XCTestCase {
    func testLoweredToolScriptsAreAcceptedByInstalledBpftrace() throws {
        _ = try RealBpftrace.requireAvailable()
        var checked = 0
        for (name, text) in try ToolScriptTests.toolScripts() {
            guard let program = Parser.parse(source: text, file: name).program else {
                XCTFail("\(name) did not parse")
                continue
            }
            let lowered = Printer.print(program, dialect: .v0_17)
            let output = try RealBpftrace.dryRun(lowered.text)
            XCTAssertFalse(output.contains("syntax error"), "\(name): bpftrace rejected the printed program:\n\(output)")
            if RealBpftrace.parserAccepted(output) {
                checked += 1
            } else {
                // Some tools include kernel headers this machine lacks; then clang fails
                // before bpftrace parses. The original script must fail the same way.
                let original = try RealBpftrace.dryRun(text)
                XCTAssertFalse(RealBpftrace.parserAccepted(original), "\(name): original accepted but printed not:\n\(output)")
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 30, "too few tools reached bpftrace's parser")
    }

    /// One program using every construct bpftrace 0.17 has; its canonical print must pass
    /// bpftrace's parser and semantic analysis.
    func testCanonicalPrintOfEveryOldConstructIsAcceptedByInstalledBpftrace() throws {
        _ = try RealBpftrace.requireAvailable()
        let source = #"""
BEGIN
{
    $a = 0x1F + 017 + 1_000 + 10ul + 2e3;
    $b = - -$a;
    $c = (1, "x", $a);
    $d = $c.1;
    $e = $a > 1 ? 2 : 3;
    @m[1, "k"] = count();
    @n[$a] += 2;
    @n[$a] <<= 1;
    $a++;
    --$a;
    unroll (3) {
        $a += 1;
    }
    while ($a < 100) {
        $a++;
        if ($a == 50) {
            break;
        } else if ($a == 40) {
            continue;
        } else {
            $a += 0;
        }
    }
    $s = sizeof(struct task_struct);
    $p = (uint8)$a;
    printf("%s \033[0m \t \"q\" \\ %d\n", $c.1, $p);
    $t = (struct task_struct *)curtask;
    $u = $t->pid;
    $x = !($a == 1) && ~$a != 0;
    $y = (uint64 *)0;
    print(@m);
    clear(@n);
    delete(@m[1, "k"]);
    exit();
}
"""#
        let printed = assertRoundTrip(source)
        let output = try RealBpftrace.dryRun(printed)
        XCTAssertTrue(RealBpftrace.semanticAccepted(output), "\(printed)\n\(output)")
    }

    /// Random trees (no preamble, so clang never runs first) lowered to 0.17 must never hit a
    /// syntax error in the real 0.17 parser; other errors (unknown functions, types) are
    /// semantic and expected for random programs.
    func testLoweredGeneratedProgramsHaveNoSyntaxErrorsInInstalledBpftrace() throws {
        _ = try RealBpftrace.requireAvailable()
        var generator = GeneratedTreeTests.Generator(rng: FuzzTests.SeededGenerator(state: 77))
        var checked = 0
        for iteration in 0..<30 {
            var program = generator.program()
            program.preamble = []
            program.config = nil
            let lowered = Printer.print(stripAnnotations(program), dialect: .v0_17)
            if lowered.hasErrors { continue }
            let output = try RealBpftrace.dryRun(lowered.text)
            XCTAssertFalse(output.contains("syntax error"), "iteration \(iteration):\n\(lowered.text)\n\(output)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 8, "too few generated programs could be lowered to 0.17")
    }
}
