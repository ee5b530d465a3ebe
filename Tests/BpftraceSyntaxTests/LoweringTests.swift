import XCTest
@testable import BpftraceSyntax

final class LoweringTests: XCTestCase {
    private func lower(_ source: String, to dialect: BpftraceDialect = .v0_17,
                       file: StaticString = #filePath, line: UInt = #line) -> PrintResult {
        let program = parseOK(source, file: file, line: line)
        return Printer.print(program, dialect: dialect)
    }

    /// The body of the only probe of `text`, one statement per line, indentation removed.
    private func bodyLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != "{" && $0 != "}" }
    }

    func testVersionParsing() {
        XCTAssertEqual(BpftraceVersion(versionOutput: "bpftrace v0.17.0\n"), BpftraceVersion(0, 17, 0))
        XCTAssertEqual(BpftraceVersion(versionOutput: "bpftrace v0.21.2-12-gabc1234"), BpftraceVersion(0, 21, 2))
        XCTAssertEqual(BpftraceVersion(versionOutput: "v0.26.0"), BpftraceVersion(0, 26, 0))
        XCTAssertEqual(BpftraceVersion(versionOutput: "0.24"), BpftraceVersion(0, 24, 0))
        XCTAssertNil(BpftraceVersion(versionOutput: "bpftrace"))
        XCTAssertNil(BpftraceVersion(versionOutput: ""))
        XCTAssertTrue(BpftraceVersion(0, 9, 4) < BpftraceVersion(0, 17, 0))
        XCTAssertEqual(BpftraceDialect(versionOutput: "bpftrace v0.20.1")?.supports(.fentryNames), true)
        XCTAssertEqual(BpftraceDialect.v0_17.supports(.fentryNames), false)
        XCTAssertTrue(BpftraceDialect.latest.supports(.autoDereference))
    }

    func testInstalledBpftraceVersionParses() throws {
        let path = try RealBpftrace.requireAvailable()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        XCTAssertNotNil(BpftraceDialect(versionOutput: output), output)
    }

    func testArgsDotBecomesArrowBefore019() {
        XCTAssertEqual(bodyLines(lower("tracepoint:syscalls:sys_enter_openat { printf(\"%s\", str(args.filename)); }").text).last,
                       "printf(\"%s\", str(args->filename));")
        XCTAssertTrue(lower("t:a:b { $x = args.f; }", to: BpftraceDialect(version: BpftraceVersion(0, 19))).text
            .contains("args.f"))
    }

    func testDotOnKnownPointerBecomesArrowBefore025() throws {
        var program = parseOK("kprobe:f { $t = curtask.parent; }")
        program = TreeTransform(expression: { e in
            var c = e
            if c.kind == .builtin("curtask") { c.type = .pointer(to: .record(name: "struct task_struct")) }
            return c
        }).apply(program)
        XCTAssertTrue(Printer.print(program, dialect: BpftraceDialect(version: BpftraceVersion(0, 24))).text.contains("curtask->parent"))
        XCTAssertTrue(Printer.print(program, dialect: .latest).text.contains("curtask.parent"))
    }

    func testDotOnSyntacticPointersBecomesArrowBefore025() {
        let r = lower("""
        kprobe:tcp_connect {
            $sk = (struct sock *)arg0;
            $alias = $sk;
            $n = 1;
            $n = $sk;
            printf("%d %d %d %d\\n", $sk.__sk_common.skc_family, $alias.sk_state, curtask.pid, $n.x);
            $v = ((struct sock *)arg0).sk_state;
        }
        """, to: BpftraceDialect(version: BpftraceVersion(0, 24)))
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertTrue(r.text.contains("$sk->__sk_common.skc_family, $alias->sk_state, curtask->pid, $n.x"), r.text)
        XCTAssertTrue(r.text.contains("((struct sock *)arg0)->sk_state"), r.text)
        XCTAssertTrue(lower("kprobe:f { $t = curtask.pid; }", to: .latest).text.contains("curtask.pid"))
    }

    func testBooleansDurationsBuiltinCallsProviders() {
        let r = lower("begin { $a = true; $b = false; $c = 1s + 100ms; $d = comm(); $e = pid(); } end { exit(); }")
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), [
            "BEGIN", "$a = 1;", "$b = 0;", "$c = 1000000000 + 100000000;", "$d = comm;", "$e = pid;", "END", "exit();",
        ])
        let unchanged = lower("begin { $a = true; $c = 1s; $d = comm(); }", to: BpftraceDialect(version: BpftraceVersion(0, 24)))
        XCTAssertEqual(bodyLines(unchanged.text), ["begin", "$a = true;", "$c = 1s;", "$d = comm();"])
    }

    func testShortTypeNamesAndArrayCastsBefore022() {
        let r = lower("BEGIN { $a = (u16)$b + (i64)$c + sizeof(u32); $p = (u8 *)arg0; }")
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), ["BEGIN", "$a = (uint16)$b + (int64)$c + sizeof(uint32);", "$p = (uint8 *)arg0;"])
        XCTAssertTrue(lower("BEGIN { $a = (u16)$b; }", to: BpftraceDialect(version: BpftraceVersion(0, 22))).text.contains("(u16)$b"))
        XCTAssertEqual(lower("BEGIN { $a = (uint8[4])$b; }").diagnostics.map(\.message), [
            "casting to an array type 'uint8[4]' requires bpftrace 0.19 or later, but the target is bpftrace 0.17.0",
        ])
    }

    func testFentryNamesBecomeKfuncBefore020() {
        let r = lower("fentry:vfs_read, fexit:vfs_write { @x = count(); }")
        XCTAssertTrue(r.text.hasPrefix("kfunc:vfs_read,\nkretfunc:vfs_write\n"), r.text)
        XCTAssertTrue(lower("fentry:vfs_read { }", to: BpftraceDialect(version: BpftraceVersion(0, 20))).text.hasPrefix("fentry:vfs_read"))
    }

    func testLetLowering() {
        let r = lower("BEGIN { let $a; let $b = 5; let $c: u16 = $b; let $d: int32; let $p: struct task_struct * = curtask; let $s: string = \"x\"; }")
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), [
            "BEGIN", "$b = 5;", "$c = (uint16)$b;", "$d = (int32)0;", "$p = (struct task_struct *)curtask;", "$s = \"x\";",
        ])
        let bad = lower("BEGIN { let $a: uint8[4] = $x; }")
        XCTAssertEqual(bad.diagnostics.count, 1)
        XCTAssertEqual(bad.diagnostics.first?.message,
                       "'let $a: uint8[4]' requires bpftrace 0.22 or later, but the target is bpftrace 0.17.0")
        XCTAssertTrue(lower("BEGIN { let $a: u16 = 1; }", to: BpftraceDialect(version: BpftraceVersion(0, 22))).text.contains("let $a: u16 = 1;"))
    }

    func testRepeatedLetInSiblingBlocksIsRenamedBefore022() {
        let r = lower("""
        BEGIN {
            if ($1 > 0) { let $v = "text"; print($v); } else { let $v = 1; print($v + 1); }
            let $v = 2;
            { let $v = 3; print($v); }
            print($v);
        }
        """)
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), [
            "BEGIN", "if ($1 > 0) {", "$v = \"text\";", "print($v);", "} else {", "$v_2 = 1;", "print($v_2 + 1);",
            "$v_3 = 2;", "$v_4 = 3;", "print($v_4);", "print($v_3);",
        ])
        // Programs written for probe-wide scoping (no `let`) are untouched.
        let old = lower("BEGIN { if ($1) { $a = 1; } else { $a = 2; } print($a); }")
        XCTAssertTrue(old.text.contains("$a = 2;") && old.text.contains("print($a);"), old.text)
    }

    func testConstantRangeLoopBecomesUnroll() {
        let r = lower("BEGIN { for ($i : 0..3) { @a[$i] = $i * 2; } }")
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), ["BEGIN", "$i = 0;", "unroll (3) {", "@a[$i] = $i * 2;", "$i++;"])
        XCTAssertEqual(bodyLines(lower("BEGIN { for ($i : 5..5) { print($i); } }").text), ["BEGIN"])
    }

    func testOtherRangeLoopsBecomeWhile() {
        let r = lower("BEGIN { for ($i : 0..$n) { if ($i > 3) { break; } print($i); } }")
        XCTAssertEqual(r.diagnostics, [])
        XCTAssertEqual(bodyLines(r.text), ["BEGIN", "$i = 0;", "$__ken_end_i = $n;", "while ($i < $__ken_end_i) {",
                                           "if ($i > 3) {", "break;", "print($i);", "$i++;"])
        let big = lower("BEGIN { for ($i : 0..1000) { print($i); } }")
        XCTAssertTrue(big.text.contains("while ($i < 1000) {"), big.text)
        let withContinue = lower("BEGIN { for ($i : 0..3) { continue; } }")
        XCTAssertEqual(withContinue.diagnostics.count, 1)
        XCTAssertTrue(withContinue.diagnostics[0].message.contains("requires bpftrace 0.24"), withContinue.diagnostics[0].message)
    }

    func testUnsupportedConstructsNameTheVersion() {
        let r = lower("config = { max_map_keys = 10 }\nBEGIN { for ($kv : @m) { print($kv); } $o = offsetof(struct a, b.c); }")
        XCTAssertEqual(r.diagnostics.map(\.message).sorted(), [
            "'for ($kv : @map)' loops requires bpftrace 0.21 or later, but the target is bpftrace 0.17.0",
            "offsetof() with a sub-field path requires bpftrace 0.23 or later, but the target is bpftrace 0.17.0",
            "the config block requires bpftrace 0.20 or later, but the target is bpftrace 0.17.0",
        ])
        XCTAssertEqual(lower("BEGIN { $a = 1; $p = &$a; }").diagnostics.map(\.message), [
            "the address-of operator '&' requires bpftrace 0.26 or later, but the target is bpftrace 0.17.0",
        ])
        let r21 = lower("BEGIN { for ($kv : @m) { break; } }", to: BpftraceDialect(version: BpftraceVersion(0, 21)))
        XCTAssertEqual(r21.diagnostics.map(\.message), [
            "'break' inside a for loop requires bpftrace 0.24 or later, but the target is bpftrace 0.21.0",
        ])
    }

    func testDurationAttachPointsAndRepeatedBeginBefore025() {
        XCTAssertTrue(lower("interval:100ms { exit(); }").text.hasPrefix("interval:ms:100\n"))
        XCTAssertTrue(lower("interval:1s { exit(); }", to: .latest).text.hasPrefix("interval:1s\n"))
        let twice = lower("BEGIN { @a = 1; }\nbegin { @b = 1; }", to: BpftraceDialect(version: BpftraceVersion(0, 24)))
        XCTAssertEqual(twice.diagnostics.map(\.message), [
            "more than one BEGIN probe requires bpftrace 0.25 or later, but the target is bpftrace 0.24.0",
        ])
        XCTAssertEqual(lower("BEGIN { @a = 1; }\nbegin { @b = 1; }", to: .latest).diagnostics, [])
    }

    func testMapDeclarationsAreDroppedBefore025() {
        let exact = lower("let @a = hash(100);\nBEGIN { @a[1] = 1; }")
        XCTAssertEqual(exact.diagnostics, [])
        XCTAssertFalse(exact.text.contains("let @a"), exact.text)
        let lossy = lower("let @a = lruhash(100);\nBEGIN { @a[1] = 1; }")
        XCTAssertEqual(lossy.diagnostics.map(\.severity), [.warning])
        XCTAssertEqual(lossy.diagnostics.first?.message,
                       "map declaration 'let @a = lruhash(100)' needs bpftrace 0.25; for bpftrace 0.17.0 it is dropped and @a becomes a plain hash map of up to 4096 entries")
        XCTAssertTrue(lower("let @a = lruhash(100);\nBEGIN { @a[1] = 1; }", to: .latest).text.hasPrefix("let @a = lruhash(100);\n"))
    }

    func testBareBlocksAreInlinedBefore022() {
        XCTAssertEqual(bodyLines(lower("BEGIN { { $x = 1; } $y = 2; }").text), ["BEGIN", "$x = 1;", "$y = 2;"])
    }

    func testStripAnnotations() {
        let program = parseOK("BEGIN { assume($x > 0); if ($x) { assert($x != 0, \"nz\"); @a = 1; } assert(1); }")
        let stripped = stripAnnotations(program)
        let text = Printer.print(stripped)
        XCTAssertFalse(text.contains("assume") || text.contains("assert"), text)
        XCTAssertEqual(bodyLines(text), ["BEGIN", "if ($x) {", "@a = 1;"])
        XCTAssertEqual(Parser.parse(source: text, file: "s.bt").diagnostics, [])
    }

    /// The lowered form of every new-dialect feature is accepted (parsed and semantically
    /// checked) by the installed bpftrace 0.17. Only BEGIN probes: nothing gets attached, and
    /// `-d` stops before loading anyway.
    func testLoweredNewDialectProgramIsAcceptedByInstalledBpftrace() throws {
        let installed = try RealBpftrace.requireAvailable()
        _ = installed
        let source = """
        config = { max_map_keys = 10 }
        begin {
            let $a: u16 = 5;
            let $b = true;
            $t = 1s + 5ms;
            $c = comm();
            { $inner = $a + 1; }
            for ($i : 0..4) { @sq[$i] = $i * $i; }
            for ($j : 0..$a) { @lin[$j] = $j; if ($j > 2) { break; } }
            assume($a > 0);
            assert($a < 10, "small");
            printf("%d %d %s %d\\n", $a, $b, $c, $t);
            exit();
        }
        """
        var program = parseOK(source)
        program.config = nil // no lowering for config blocks; checked elsewhere
        let lowered = Printer.print(stripAnnotations(program), dialect: .v0_17)
        XCTAssertEqual(lowered.diagnostics, [])
        let output = try RealBpftrace.dryRun(lowered.text)
        XCTAssertTrue(RealBpftrace.parserAccepted(output), "\(lowered.text)\n\(output)")
        XCTAssertTrue(RealBpftrace.semanticAccepted(output), "\(lowered.text)\n\(output)")
    }
}
