import XCTest
@testable import BpftraceSyntax

/// Rendered diagnostics are fed verbatim to an LLM, so their exact text is part of the API.
final class DiagnosticTests: XCTestCase {
    private func rendered(_ source: String, file: String = "prog.bt") -> String {
        let result = Parser.parse(source: source, file: file)
        XCTAssertNil(result.program)
        return Diagnostic.render(result.diagnostics, source: source)
    }

    func testProgramWithoutProbes() {
        XCTAssertEqual(rendered("#include <linux/sched.h>\n"), """
        prog.bt:2:1: error: the program has no probes

        ^
        hint: add a probe, e.g. 'BEGIN { printf("hello\\n"); }'
        """)
    }

    func testStraySemicolonBetweenProbesDoesNotHideTheNextProbe() {
        XCTAssertEqual(rendered("BEGIN { exit(); };\nEND { $x = ; }"), """
        prog.bt:1:18: error: unexpected ';' between probes
        BEGIN { exit(); };
                         ^
        hint: a probe ends with its closing '}'; remove the ';'
        prog.bt:2:12: error: expected an expression, found ';'
        END { $x = ; }
                   ^
        """)
    }

    func testForgottenClosingBraceBeforeNextProbe() {
        let source = "kprobe:f\n{\n    if ($x) {\n        @a = 1;\n\ntracepoint:sched:sched_switch { @b = 1; }\nEND { $y = ; }\n"
        XCTAssertEqual(rendered(source), """
        prog.bt:6:1: error: missing '}' before the next probe
        tracepoint:sched:sched_switch { @b = 1; }
        ^~~~~~~~~~
        hint: close the block opened at line 3, column 13 with '}'
        prog.bt:7:12: error: expected an expression, found ';'
        END { $y = ; }
                   ^
        """)
        let result = Parser.parse(source: source, file: "p.bt")
        XCTAssertEqual(result.partialProgram.probes.map { $0.attachPoints[0].kind }, [.kprobe, .tracepoint, .end])
    }

    func testMissingOperand() {
        XCTAssertEqual(rendered("BEGIN {\n    $x = 1 +;\n}\n"), """
        prog.bt:2:13: error: expected an expression, found ';'
            $x = 1 +;
                    ^
        """)
    }

    func testMissingSemicolonKeepsParsingNextLine() {
        XCTAssertEqual(rendered("kprobe:do_nanosleep\n{\n\t@[comm] = count()\n\t@x = 1 +;\n}\n"), """
        prog.bt:3:19: error: expected ';' after statement, found '@x'
        \t@[comm] = count()
        \t                 ^
        hint: statements are separated by ';'
        prog.bt:4:10: error: expected an expression, found ';'
        \t@x = 1 +;
        \t        ^
        """)
    }

    func testUnknownProbeTypeAndMissingTarget() {
        XCTAssertEqual(rendered("kprob:foo { exit(); }\ntracepoint { }\nBEGIN { exit(); }"), """
        prog.bt:1:1: error: unknown probe type 'kprob'
        kprob:foo { exit(); }
        ^~~~~
        hint: probe types: BEGIN, END, tracepoint, rawtracepoint, kprobe, kretprobe, fentry, fexit, uprobe, uretprobe, usdt, profile, interval, software, hardware, watchpoint, asyncwatchpoint, iter
        prog.bt:2:1: error: tracepoint probe needs a target, e.g. 'tracepoint:syscalls:sys_enter_openat'
        tracepoint { }
        ^~~~~~~~~~
        """)
    }

    func testLexicalErrors() {
        XCTAssertEqual(rendered("BEGIN { $s = \"abc\\q\"; @a[] = 1; $y = 09; $z = `; }"), """
        prog.bt:1:14: error: invalid escape sequence '\\q'
        BEGIN { $s = "abc\\q"; @a[] = 1; $y = 09; $z = `; }
                     ^~~~~~~
        prog.bt:1:26: error: map key list is empty
        BEGIN { $s = "abc\\q"; @a[] = 1; $y = 09; $z = `; }
                                 ^
        hint: write @a[key] or just @a
        prog.bt:1:38: error: invalid digit '9' in octal literal '09'
        BEGIN { $s = "abc\\q"; @a[] = 1; $y = 09; $z = `; }
                                             ^~
        prog.bt:1:47: error: unexpected character '`'
        BEGIN { $s = "abc\\q"; @a[] = 1; $y = 09; $z = `; }
                                                      ^
        """)
    }

    func testHintsForCommonMistakes() {
        XCTAssertEqual(rendered("BEGIN { $x = 1.5; $c = 'a'; }"), """
        prog.bt:1:14: error: floating-point literals are not supported
        BEGIN { $x = 1.5; $c = 'a'; }
                     ^~~
        hint: bpftrace only has integers; scale the value (e.g. use 15 and divide by 10)
        prog.bt:1:24: error: character literals are not supported
        BEGIN { $x = 1.5; $c = 'a'; }
                               ^~~
        hint: use the ASCII code instead, e.g. 65 for 'A', or a "string"
        """)
        XCTAssertEqual(rendered("BEGIN { $s = 'abc'; struct task_struct *t = curtask; int n = 1; }"), """
        prog.bt:1:14: error: strings must use double quotes
        BEGIN { $s = 'abc'; struct task_struct *t = curtask; int n = 1; }
                     ^~~~~
        hint: write "abc"
        prog.bt:1:21: error: C-style variable declarations are not supported
        BEGIN { $s = 'abc'; struct task_struct *t = curtask; int n = 1; }
                            ^~~~~~
        hint: use a scratch variable, e.g. '$t = (struct task_struct *)curtask;' or 'let $n: u32 = 0;'
        prog.bt:1:54: error: C-style variable declarations are not supported
        BEGIN { $s = 'abc'; struct task_struct *t = curtask; int n = 1; }
                                                             ^~~
        hint: use a scratch variable, e.g. '$t = (struct task_struct *)curtask;' or 'let $n: u32 = 0;'
        """)
        XCTAssertEqual(rendered("BEGIN {\n  x = 1;\n  pid = 2;\n  # note\n}"), """
        prog.bt:2:3: error: 'x' is not a variable
          x = 1;
          ^
        hint: scratch variables start with '$' ($x) and maps with '@' (@x)
        prog.bt:3:3: error: cannot assign to the builtin 'pid'
          pid = 2;
          ^~~
        hint: store it in a variable instead, e.g. '$pid = …'
        prog.bt:4:3: error: unexpected character '#'
          # note
          ^
        hint: comments are written '// …' or '/* … */'; #include and #define go before the probes
        """)
        XCTAssertEqual(rendered("BEGIN { for (i = 0; i < 3; i++) { } }"), """
        prog.bt:1:14: error: expected a $variable after 'for', found 'i'
        BEGIN { for (i = 0; i < 3; i++) { } }
                     ^
        hint: write 'for ($kv : @map) { … }' or 'for ($i : 0..10) { … }'
        """)
    }

    func testReturnValuesAndFieldAssignments() {
        XCTAssertEqual(rendered("BEGIN { return 1; $t->pid = 2; }"), """
        prog.bt:1:16: error: 'return' in a probe takes no value
        BEGIN { return 1; $t->pid = 2; }
                       ^
        hint: write 'return;'
        prog.bt:1:19: error: cannot assign to this expression
        BEGIN { return 1; $t->pid = 2; }
                          ^~~~~~~
        hint: bpftrace can only assign to a $variable or an @map[key]
        """)
    }

    func testMissingBracesAndAssignmentInCondition() {
        XCTAssertEqual(rendered("BEGIN { if ($x = 1) { } if ($x) $y = 1; }"), """
        prog.bt:1:16: error: expected ')' to match '(', found '='
        BEGIN { if ($x = 1) { } if ($x) $y = 1; }
                       ^
        hint: use '==' to compare; '=' only assigns
        prog.bt:1:33: error: expected '{' to open the if body, found '$y'
        BEGIN { if ($x = 1) { } if ($x) $y = 1; }
                                        ^~
        hint: bpftrace needs braces around every if body, even a single statement
        """)
        XCTAssertEqual(rendered("kprobe:f /pid = 1/ { }"), """
        prog.bt:1:15: error: expected '/' to end the predicate, found '='
        kprobe:f /pid = 1/ { }
                      ^
        hint: use '==' to compare; '=' only assigns
        """)
    }

    func testUnclosedBlockAndString() {
        XCTAssertEqual(rendered("BEGIN {\n  printf(\"hi\n}\n"), """
        prog.bt:2:10: error: unterminated string literal
          printf("hi
                 ^~~
        """)
        XCTAssertEqual(rendered("BEGIN {\n  exit();\n"), """
        prog.bt:3:1: error: expected '}' to close the block opened at line 1, column 7

        ^
        """)
    }

    func testMultiLineRangeIsUnderlinedToEndOfFirstLine() {
        let d = Diagnostic.error("bad", at: SourceRange(
            start: SourceLocation(file: "f", line: 1, column: 3, offset: 2),
            end: SourceLocation(file: "f", line: 2, column: 2, offset: 7)), hint: "fix it")
        XCTAssertEqual(d.render(source: "ab cde\nxyz"), "f:1:3: error: bad\nab cde\n  ^~~~\nhint: fix it")
        XCTAssertEqual(d.render(source: nil), "f:1:3: error: bad\nhint: fix it")
        XCTAssertEqual(Diagnostic.warning("w", at: .unknown).render(source: "x"), ":0:0: warning: w")
    }

    func testCaretStaysAlignedAfterNonASCIIText() {
        XCTAssertEqual(rendered("BEGIN { printf(\"héllo ✓\"); $x = ; }"), """
        prog.bt:1:36: error: expected an expression, found ';'
        BEGIN { printf("héllo ✓"); $x = ; }
                                        ^
        """)
    }

    func testDeepNestingIsADiagnosticNotACrash() {
        let deep = "BEGIN { $x = " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + "; }"
        let result = Parser.parse(source: deep, file: "deep.bt")
        XCTAssertEqual(result.diagnostics.count, 1)
        XCTAssertEqual(result.diagnostics.first?.message, "program nested too deeply (more than 64 levels)")
        let blocks = "BEGIN " + String(repeating: "{ ", count: 5_000) + String(repeating: "} ", count: 5_000)
        XCTAssertEqual(Parser.parse(source: blocks, file: "b.bt").diagnostics.first?.message,
                       "program nested too deeply (more than 64 levels)")
        let unary = "BEGIN { $x = " + String(repeating: "!", count: 10_000) + "1; }"
        XCTAssertEqual(Parser.parse(source: unary, file: "u.bt").diagnostics.count, 1)
        let longChain = "BEGIN { $x = " + Array(repeating: "1", count: 50_000).joined(separator: " + ") + "; }"
        XCTAssertEqual(Parser.parse(source: longChain, file: "l.bt").diagnostics.first?.message,
                       "expression too complex (more than 2000 nodes)")
    }

    func testErrorCountIsCapped() {
        let many = "BEGIN { " + String(repeating: "$x = ; ", count: 500) + "}"
        let result = Parser.parse(source: many, file: "m.bt")
        XCTAssertEqual(result.diagnostics.count, Parser.maximumDiagnostics + 1)
        XCTAssertEqual(result.diagnostics.last?.message, "too many errors; stopping")
    }

    func testPartialProgramSurvivesErrors() {
        let result = Parser.parse(source: "BEGIN { $x = ; @y = 2; }\nEND { exit(); }", file: "p.bt")
        XCTAssertNil(result.program)
        XCTAssertEqual(result.partialProgram.probes.count, 2)
        let body = result.partialProgram.probes[0].body.statements
        XCTAssertEqual(body.count, 2)
        XCTAssertEqual(body.map(Printer.print), ["$x = <error>;", "@y = 2;"])
    }
}
