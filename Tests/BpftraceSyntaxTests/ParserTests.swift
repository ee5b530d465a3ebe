import XCTest
@testable import BpftraceSyntax

final class ParserTests: XCTestCase {
    // MARK: Top level

    func testShebangPreambleAndCDefinitions() {
        let program = parseOK("""
        #!/usr/bin/env bpftrace
        #include <linux/sched.h>
        #define MAX_LEN 16
        #ifdef FOO
        #endif
        struct flow { u32 saddr; struct { int x; } inner; };
        union u { int a; char b[4]; };
        enum color { RED, GREEN = 2 };
        BEGIN { exit(); }
        """)
        XCTAssertEqual(program.shebang, "#!/usr/bin/env bpftrace")
        XCTAssertEqual(program.preamble.map(\.kind), [.include, .define, .preprocessor, .preprocessor,
                                                       .structDefinition, .unionDefinition, .enumDefinition])
        XCTAssertEqual(program.preamble.map(\.name), ["<linux/sched.h>", "MAX_LEN", nil, nil, "flow", "u", "color"])
        XCTAssertEqual(Parser.parse(source: "typedef unsigned int t;\nBEGIN {}", file: "t.bt").diagnostics.map(\.message),
                       ["'typedef' is not supported by bpftrace"])
        XCTAssertEqual(program.preamble[4].text, "struct flow { u32 saddr; struct { int x; } inner; };")
        XCTAssertEqual(program.probes.count, 1)
        assertRoundTrip("#include <a.h>\nstruct s { int a; };\nBEGIN { exit(); }")
    }

    func testMapDeclarations() {
        let program = parseOK("config = { max_map_keys = 10 }\nlet @a = hash(100);\nlet @b = lruhash(0x20);\nBEGIN { @a[1] = 1; }")
        XCTAssertEqual(program.mapDeclarations.map(\.name), ["a", "b"])
        XCTAssertEqual(program.mapDeclarations.map(\.mapType), ["hash", "lruhash"])
        XCTAssertEqual(program.mapDeclarations[1].maxEntries, IntegerLiteral(value: 32, text: "0x20"))
        assertRoundTrip("let @a = hash(100);\nlet @b = percpulruhash(20);\nBEGIN { @a[1] = 1; }")
        XCTAssertEqual(Parser.parse(source: "let @a = hash();\nBEGIN {}", file: "t.bt").diagnostics.map(\.message),
                       ["expected the maximum number of entries, found ')'"])
    }

    func testConfigBlock() {
        let program = parseOK("config = { max_map_keys = 100; stack_mode = perf; str_trunc_trailer = \"..\" }\nBEGIN {}")
        XCTAssertEqual(program.config?.entries.map(\.key), ["max_map_keys", "stack_mode", "str_trunc_trailer"])
        XCTAssertEqual(program.config?.entries[1].value.kind, .identifier("perf"))
        assertRoundTrip("config = { max_map_keys = 100; stack_mode = perf }\nBEGIN {}")
    }

    // MARK: Attach points

    func testAttachPointsAllKindsAndShortForms() {
        let cases: [(String, ProbeKind, String, [String])] = [
            ("BEGIN", .begin, "BEGIN", []), ("begin", .begin, "begin", []), ("END", .end, "END", []),
            ("end", .end, "end", []),
            ("tracepoint:syscalls:sys_enter_*", .tracepoint, "tracepoint", ["syscalls", "sys_enter_*"]),
            ("t:sched:sched_switch", .tracepoint, "t", ["sched", "sched_switch"]),
            ("rawtracepoint:sched_switch", .rawtracepoint, "rawtracepoint", ["sched_switch"]),
            ("rt:sched_switch", .rawtracepoint, "rt", ["sched_switch"]),
            ("kprobe:do_sys_open+0x10", .kprobe, "kprobe", ["do_sys_open+0x10"]),
            ("k:vfs_*", .kprobe, "k", ["vfs_*"]),
            ("kprobe:lookup_fast.constprop.*", .kprobe, "kprobe", ["lookup_fast.constprop.*"]),
            ("kr:vfs_read", .kretprobe, "kr", ["vfs_read"]),
            ("kfunc:vfs_read", .fentry, "kfunc", ["vfs_read"]), ("fentry:vfs_read", .fentry, "fentry", ["vfs_read"]),
            ("f:vfs_read", .fentry, "f", ["vfs_read"]), ("kretfunc:vfs_read", .fexit, "kretfunc", ["vfs_read"]),
            ("fexit:vfs_read", .fexit, "fexit", ["vfs_read"]), ("fr:vfs_read", .fexit, "fr", ["vfs_read"]),
            ("uprobe:/bin/bash:readline", .uprobe, "uprobe", ["/bin/bash", "readline"]),
            ("u:libc:malloc", .uprobe, "u", ["libc", "malloc"]),
            ("uretprobe:/bin/bash:readline", .uretprobe, "uretprobe", ["/bin/bash", "readline"]),
            ("ur:/bin/bash:readline", .uretprobe, "ur", ["/bin/bash", "readline"]),
            ("usdt:/usr/lib/libpython3.so:python:function__entry", .usdt, "usdt", ["/usr/lib/libpython3.so", "python", "function__entry"]),
            ("U:/bin/x:p:n", .usdt, "U", ["/bin/x", "p", "n"]),
            ("profile:hz:99", .profile, "profile", ["hz", "99"]), ("p:ms:10", .profile, "p", ["ms", "10"]),
            ("interval:s:1", .interval, "interval", ["s", "1"]), ("i:ms:100", .interval, "i", ["ms", "100"]),
            ("software:page-faults:100", .software, "software", ["page-faults", "100"]),
            ("s:faults:1", .software, "s", ["faults", "1"]),
            ("hardware:cache-misses:1000000", .hardware, "hardware", ["cache-misses", "1000000"]),
            ("h:cycles:1e6", .hardware, "h", ["cycles", "1e6"]),
            ("watchpoint:0x10000000:8:rw", .watchpoint, "watchpoint", ["0x10000000", "8", "rw"]),
            ("asyncwatchpoint:0x1000:8:w", .asyncwatchpoint, "asyncwatchpoint", ["0x1000", "8", "w"]),
            ("iter:task", .iter, "iter", ["task"]),
            ("uprobe:/bin/x:\"ns::fn(int)\"", .uprobe, "uprobe", ["/bin/x", "\"ns::fn(int)\""]),
        ]
        for (text, kind, provider, target) in cases {
            let program = parseOK(text + " { exit(); }")
            guard let ap = program.probes.first?.attachPoints.first else {
                XCTFail(text)
                continue
            }
            XCTAssertEqual(ap.kind, kind, text)
            XCTAssertEqual(ap.provider, provider, text)
            XCTAssertEqual(ap.target, target, text)
            XCTAssertEqual(ap.text, text)
            assertRoundTrip(text + " { exit(); }")
        }
    }

    func testMultipleAttachPointsAndPredicates() {
        let program = parseOK("""
        tracepoint:syscalls:sys_enter_open,
        tracepoint:syscalls:sys_enter_openat
        /pid == 1234 && comm == "bash"/
        {
            @[comm] = count();
        }
        uprobe:/bin/bash:readline /@start[tid]/ { @x = 1 }
        BEGIN/$1 > 0/{ exit() }
        """)
        XCTAssertEqual(program.probes.count, 3)
        XCTAssertEqual(program.probes[0].attachPoints.count, 2)
        XCTAssertEqual(program.probes[1].attachPoints[0].target, ["/bin/bash", "readline"])
        XCTAssertEqual(program.probes[1].predicate.map(Printer.print), "@start[tid]")
        XCTAssertEqual(program.probes[2].predicate.map(Printer.print), "$1 > 0")
    }

    func testDivisionInsidePredicate() {
        let program = parseOK("kprobe:f / $1 / 2 > 1 && (arg0 / 4) / { exit(); }")
        XCTAssertEqual(program.probes[0].predicate.map(Printer.print), "$1 / 2 > 1 && arg0 / 4")
        assertRoundTrip("kprobe:f /arg0 / 2/ { exit(); }")
    }

    // MARK: Statements

    func testAssignmentsAndCompoundOperators() {
        let ops = ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]
        for op in ops {
            let s = statements("BEGIN { @m[1, \"a\"] \(op) 2; $x \(op) 3; }")
            guard s.count == 2, case let .assignment(target, parsedOp, _) = s[0],
                  case let .assignment(_, parsedOp2, _) = s[1] else {
                XCTFail(op)
                continue
            }
            XCTAssertEqual(parsedOp.rawValue, op)
            XCTAssertEqual(parsedOp2.rawValue, op)
            XCTAssertEqual(target.kind.mapChildren { var c = $0; c.range = .unknown; return c },
                           .map(name: "m", keys: [int(1), e(.string("a"))]))
        }
    }

    func testIncrementDecrement() {
        let s = statements("BEGIN { @c++; ++@c; $i--; --$i; }")
        let printed = s.map { Printer.print(Statement($0)) }
        XCTAssertEqual(printed, ["@c++;", "++@c;", "$i--;", "--$i;"])
        XCTAssertEqual(expr("$i++"), e(.incrementDecrement(.increment, prefix: false, v("i"))))
        XCTAssertEqual(expr("--$i"), e(.incrementDecrement(.decrement, prefix: true, v("i"))))
    }

    func testLetDeclarations() {
        let s = statements("BEGIN { let $a; let $b = 1; let $c: u16 = 2; let $d: struct task_struct * = curtask; let $e: uint8[4]; }")
        XCTAssertEqual(s[0], .letDeclaration(name: "a", type: nil, value: nil))
        guard case let .letDeclaration("c", type?, _) = s[2] else { return XCTFail("let $c") }
        XCTAssertEqual(type, TypeName(base: "u16"))
        guard case let .letDeclaration("d", dType?, _) = s[3] else { return XCTFail("let $d") }
        XCTAssertEqual(dType, TypeName(base: "struct task_struct", pointerDepth: 1))
        guard case let .letDeclaration("e", eType?, nil) = s[4] else { return XCTFail("let $e") }
        XCTAssertEqual(eType, TypeName(base: "uint8", arrayCount: 4))
        assertRoundTrip("BEGIN { let $a; let $b = 1; let $c: u16 = 2; let $d: struct task_struct * = curtask; }")
    }

    func testIfElseIfElse() {
        let printed = assertRoundTrip("BEGIN { if ($x > 1) { @a = 1; } else if ($x) { @b = 1 } else { @c = 1 } if (1) {} }")
        XCTAssertTrue(printed.contains("} else if ($x) {"), printed)
        let s = statements("BEGIN { if $x { } }") // 0.24: parentheses optional for unary conditions
        guard case .ifStatement = s[0] else { return XCTFail() }
    }

    func testLongElseIfLadderIsNotDeepNesting() {
        var source = "BEGIN { if ($x == 0) { @n = \"e0\"; }"
        for i in 1..<200 { source += " else if ($x == \(i)) { @n = \"e\(i)\"; }" }
        source += " else { @n = \"other\"; } }"
        assertRoundTrip(source)
        var tooLong = "BEGIN { if ($x == 0) { }"
        for i in 1..<400 { tooLong += " else if ($x == \(i)) { }" }
        tooLong += " }"
        XCTAssertEqual(Parser.parse(source: tooLong, file: "l.bt").diagnostics.first?.message,
                       "'else if' chain too long (more than 256 links)")
    }

    func testLoops() {
        let s = statements("""
        BEGIN {
            unroll(5) { @i++; }
            while ($i < 10) { $i++; if ($i == 5) { break; } continue; }
            for ($kv : @map) { print($kv.0); }
            for ($i : 0..10) { print($i); }
            for $j : 1..$n { print($j); }
        }
        """)
        XCTAssertEqual(s.count, 5)
        guard case let .unroll(count, _) = s[0] else { return XCTFail("unroll") }
        XCTAssertEqual(count.kind, .integer(IntegerLiteral(value: 5, text: "5")))
        guard case .whileLoop = s[1] else { return XCTFail("while") }
        guard case let .forMap("kv", map, _) = s[2] else { return XCTFail("for map") }
        XCTAssertEqual(map.kind, .map(name: "map", keys: []))
        guard case let .forRange("i", start, end, _) = s[3] else { return XCTFail("for range") }
        XCTAssertEqual(Printer.print(start) + ".." + Printer.print(end), "0..10")
        guard case .forRange("j", _, _, _) = s[4] else { return XCTFail("for range without parens") }
        assertRoundTrip("BEGIN { unroll(5) { @i++; } while ($i < 10) { $i++; break; } for ($kv : @m) { print($kv.1); continue; } for ($i : 0..($n + 1)) { return; } }")
    }

    func testAnnotations() {
        let s = statements("BEGIN { assume($x > 0); assert(@m[1] < 10); assert($y != 0, \"y must be set\"); }")
        XCTAssertEqual(s.count, 3)
        guard case .assume = s[0], case .assert(_, nil) = s[1], case let .assert(_, message) = s[2] else {
            return XCTFail("annotations")
        }
        XCTAssertEqual(message, "y must be set")
        assertRoundTrip("BEGIN { assume($x > 0); assert($y != 0, \"y \\\"must\\\" be set\"); }")
    }

    func testReturnBreakContinueAndBareBlocks() {
        let s = statements("BEGIN { return; { $x = 1; } }")
        XCTAssertEqual(s[0], .returnStatement(nil))
        guard case let .block(b) = s[1] else { return XCTFail("bare block") }
        XCTAssertEqual(b.statements.count, 1)
        assertRoundTrip("BEGIN { { $x = 1; } return; }")
    }

    func testEmptyStatementsAndMissingFinalSemicolon() {
        XCTAssertEqual(statements("BEGIN { ;; $x = 1;; $y = 2 }").count, 2)
    }

    // MARK: Expressions

    func testPrecedenceFollowsC() {
        XCTAssertEqual(Printer.print(expr("1 + 2 * 3")), "1 + 2 * 3")
        XCTAssertEqual(expr("1 + 2 * 3"), e(.binary(.add, int(1), e(.binary(.multiply, int(2), int(3))))))
        XCTAssertEqual(expr("(1 + 2) * 3"), e(.binary(.multiply, e(.binary(.add, int(1), int(2))), int(3))))
        XCTAssertEqual(expr("1 - 2 - 3"), e(.binary(.subtract, e(.binary(.subtract, int(1), int(2))), int(3))))
        XCTAssertEqual(Printer.print(expr("1 - (2 - 3)")), "1 - (2 - 3)")
        XCTAssertEqual(expr("a || b && c | d ^ e & f == g < h << i + j * k"),
                       expr("a || (b && (c | (d ^ (e & (f == (g < (h << (i + (j * k)))))))))"))
        XCTAssertEqual(expr("$a ? $b : $c ? $d : $e"), expr("$a ? $b : ($c ? $d : $e)"))
        XCTAssertEqual(Printer.print(expr("($a ? $b : $c) ? 1 : 2")), "($a ? $b : $c) ? 1 : 2")
        XCTAssertEqual(Printer.print(expr("-(-$x)")), "- -$x")
        XCTAssertEqual(expr("- -$x"), e(.unary(.negate, e(.unary(.negate, v("x"))))))
        XCTAssertEqual(Printer.print(expr("!(a == b)")), "!(a == b)")
        XCTAssertEqual(Printer.print(expr("*(uint32 *)($p + 4)")), "*(uint32 *)($p + 4)")
        XCTAssertEqual(Printer.print(expr("&$x->y")), "&$x->y")
    }

    func testElvisTernary() {
        XCTAssertEqual(expr("$a ?: 5"), e(.ternary(condition: v("a"), then: v("a"), else: int(5))))
        let bad = Parser.parseExpression(source: "f() ?: 1", file: "x")
        XCTAssertNil(bad.expression)
    }

    func testUnsupportedTopLevelDeclarations() {
        let r = Parser.parse(source: "fn f(): int { return 1; }\nBEGIN { exit(); }", file: "t.bt")
        XCTAssertEqual(r.diagnostics.map(\.message), [
            "'fn' declarations are not supported by Ken",
        ])
        XCTAssertEqual(r.partialProgram.probes.count, 1)
    }

    func testLiterals() {
        let cases: [(String, UInt64)] = [
            ("0", 0), ("42", 42), ("0x1F", 31), ("0X10", 16), ("017", 15), ("1_000_000", 1_000_000),
            ("10u", 10), ("10UL", 10), ("10ll", 10), ("10ull", 10), ("2e3", 2000),
            ("1s", 1_000_000_000), ("100ms", 100_000_000), ("5us", 5_000), ("7ns", 7), ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000), ("1d", 86_400_000_000_000), ("18446744073709551615", UInt64.max),
        ]
        for (text, value) in cases {
            XCTAssertEqual(expr(text), e(.integer(IntegerLiteral(value: value, text: text))), text)
            XCTAssertEqual(Printer.print(expr(text)), text)
        }
        XCTAssertEqual(expr("\"a\\n\\t\\\"\\\\\\x41\\101\\0\""), e(.string("a\n\t\"\\AA\0")))
        XCTAssertEqual(Printer.print(expr("\"\\x1b[0m\"")), "\"\\033[0m\"")
        XCTAssertEqual(expr("true"), e(.boolean(true)))
        XCTAssertEqual(expr("false"), e(.boolean(false)))
        XCTAssertEqual(Printer.print(expr("\"héllo ✓\"")), "\"héllo ✓\"")
    }

    func testVariablesMapsPositionalsBuiltins() {
        XCTAssertEqual(expr("$x"), v("x"))
        XCTAssertEqual(expr("@"), e(.map(name: "", keys: [])))
        XCTAssertEqual(expr("@start[tid]"), e(.map(name: "start", keys: [e(.builtin("tid"))])))
        XCTAssertEqual(expr("@m[pid, comm]"), e(.map(name: "m", keys: [e(.builtin("pid")), e(.builtin("comm"))])))
        XCTAssertEqual(expr("@m[(1, 2)]"), e(.map(name: "m", keys: [e(.tuple([int(1), int(2)]))])))
        XCTAssertEqual(expr("$1"), e(.positional(1)))
        XCTAssertEqual(expr("$#"), e(.positionalCount))
        for b in ["pid", "tid", "comm", "nsecs", "retval", "arg0", "arg12", "sarg3", "cpu", "uid", "gid", "ctx",
                  "curtask", "cgroup", "func", "probe", "kstack", "ustack", "username", "elapsed", "rand", "jiffies", "args"] {
            XCTAssertEqual(expr(b), e(.builtin(b)), b)
        }
        XCTAssertEqual(expr("AF_INET"), e(.identifier("AF_INET")))
    }

    func testCallsFieldsIndexesCastsTuples() {
        XCTAssertEqual(expr("comm()"), e(.call(name: "comm", arguments: [])))
        XCTAssertEqual(expr("lhist($x, 0, 100, 10)"),
                       e(.call(name: "lhist", arguments: [v("x"), int(0), int(100), int(10)])))
        XCTAssertEqual(expr("args->filename"), e(.fieldAccess(e(.builtin("args")), field: "filename", arrow: true)))
        XCTAssertEqual(expr("args.filename"), e(.fieldAccess(e(.builtin("args")), field: "filename", arrow: false)))
        XCTAssertEqual(expr("$kv.0.1"), e(.fieldAccess(e(.fieldAccess(v("kv"), field: "0", arrow: false)), field: "1", arrow: false)))
        XCTAssertEqual(expr("$a[2]"), e(.index(v("a"), int(2))))
        XCTAssertEqual(expr("(struct sock *)arg0"),
                       e(.cast(TypeName(base: "struct sock", pointerDepth: 1), e(.builtin("arg0")))))
        XCTAssertEqual(expr("(union u **)arg0"), e(.cast(TypeName(base: "union u", pointerDepth: 2), e(.builtin("arg0")))))
        XCTAssertEqual(expr("(uint16)$x"), e(.cast(TypeName(base: "uint16"), v("x"))))
        XCTAssertEqual(expr("(uint8[4])$x"), e(.cast(TypeName(base: "uint8", arrayCount: 4), v("x"))))
        XCTAssertEqual(expr("(task_struct *)$x"), e(.cast(TypeName(base: "task_struct", pointerDepth: 1), v("x"))))
        XCTAssertEqual(expr("((struct sock *)arg0)->sk_state"),
                       e(.fieldAccess(e(.cast(TypeName(base: "struct sock", pointerDepth: 1), e(.builtin("arg0")))),
                                      field: "sk_state", arrow: true)))
        XCTAssertEqual(expr("(1, \"a\", $x)"), e(.tuple([int(1), e(.string("a")), v("x")])))
        XCTAssertEqual(expr("sizeof(struct task_struct)"), e(.sizeof(.type(TypeName(base: "struct task_struct")))))
        XCTAssertEqual(expr("sizeof($x)"), e(.sizeof(.expression(v("x")))))
        XCTAssertEqual(expr("offsetof(struct foo, bar.baz)"),
                       e(.offsetof(.type(TypeName(base: "struct foo")), field: ["bar", "baz"])))
        for text in ["(struct sock *)arg0", "((struct sock *)arg0)->sk_state", "(1, \"a\", $x)", "sizeof(struct task_struct)",
                     "offsetof(struct foo, bar.baz)", "$kv.0.1", "-(uint16)$x", "((uint8 *)$p)[3]", "(@m)[1]", "(1).0"] {
            XCTAssertEqual(Printer.print(expr(text)), text)
        }
    }

    func testSourceRangesPointAtTheSource() {
        let source = "BEGIN {\n    $x = 1 + foo;\n}"
        let program = parseOK(source)
        guard case let .assignment(_, _, value) = program.probes[0].body.statements[0].kind else { return XCTFail() }
        XCTAssertEqual(value.range.start.line, 2)
        XCTAssertEqual(value.range.start.column, 10)
        XCTAssertEqual(value.range.end.column, 17)
        XCTAssertEqual(value.range.start.offset, 17)
        XCTAssertNil(value.type)
    }

    func testByteOrderMarkAndWindowsLineEndings() {
        let crlf = "\u{FEFF}#!/usr/bin/env bpftrace\r\n#include <linux/sched.h>\r\nBEGIN\r\n{\r\n    $x = 1;\r\n}\r\n"
        let program = parseOK(crlf)
        XCTAssertEqual(program.shebang, "#!/usr/bin/env bpftrace")
        XCTAssertEqual(program.preamble.first?.text, "#include <linux/sched.h>")
        XCTAssertTrue(program.isStructurallyEqual(to: parseOK(crlf.replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\u{FEFF}", with: ""))))
    }

    func testCommentsAreIgnored() {
        assertRoundTrip("// line\n/* block\n comment */ BEGIN /* x */ { $x = 1; // trailing\n }")
    }
}
