import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Builtins, fields, strings and maps: what the program does not determine.
final class WorldModelTests: XCTestCase {
    func testPredicateIsAPathCondition() throws {
        let body = "assert(pid == 42);"
        expect(try verify(probe(body, predicate: "pid == 42")), .verified)
        let result = try verify(probe(body))
        expect(result, .violated)
        let pid = try XCTUnwrap(result.asserts[0].counterexample?.values.first { $0.name == "pid" })
        XCTAssertNotEqual(pid.value, "42 (0x2a)")
        // pid is a 32-bit kernel id widened to 64 bits.
        expect(try verify(probe("assert(pid <= 0xffffffff);")), .verified)
    }

    /// Record fields are copied into the tracepoint record: stable. Memory behind a pointer is
    /// not, even at the same address (MemoryModelTests has the full pairs).
    func testSameFieldReadTwiceIsTheSameValue() throws {
        expect(try verify(probe("$a = args->dport; $b = args->dport; assert($a == $b);")), .verified)
        let sockets = """
        $s1 = (struct sock *)arg0; $s2 = (struct sock *)arg0;
        assert($s1->__sk_common.skc_dport == $s2->__sk_common.skc_dport);
        """
        let types: [String: SemanticType] = ["$s1->__sk_common.skc_dport": .integer(bits: 16, signed: false),
                                             "$s2->__sk_common.skc_dport": .integer(bits: 16, signed: false)]
        expect(try verify(probe(sockets), types: types), .violated)
        let once = """
        $s1 = (struct sock *)arg0; $p = $s1->__sk_common.skc_dport; $q = $p;
        assert($p == $q);
        """
        expect(try verify(probe(once), types: types), .verified)
    }

    func testTimeReadsAreFreshEachTime() throws {
        expect(try verify(probe("$a = nsecs; $b = nsecs; assert($a == $b);")), .violated)
        expect(try verify(probe("$a = nsecs; $b = $a; assert($a == $b);")), .verified)
    }

    func testStringsCompareByContent() throws {
        expect(try verify(probe("if (comm == \"abc\") { assert(comm != \"abcd\"); }")), .verified)
        expect(try verify(probe("if (comm == \"sshd\") { assert(strncmp(comm, \"ssh\", 3) == 0); }")), .verified)
        expect(try verify(probe("$s = comm; if ($s == \"bash\") { assert(comm == \"bash\"); }")), .verified)
        let result = try verify(probe("if (comm != \"bash\") { assert(comm != \"zsh\"); }"))
        expect(result, .violated)
        let comm = try XCTUnwrap(result.asserts[0].counterexample?.values.first { $0.name == "comm" })
        XCTAssertEqual(comm.value, "\"zsh\"")
        // str() truncates to its buffer and keeps the terminating NUL.
        expect(try verify(probe("$s = str(\"abcdef\", 4); assert($s == \"abcd\");")), .verified)
    }

    func testMapWriteThenReadInTheSameRun() throws {
        // A key per pid may not fit (4096 entries): the write may not take effect.
        expect(try verify(probe("@m[pid] = 5; assert(@m[pid] == 5);")), .violated)
        expect(try verify(probe("@m[pid % 8] = 5; assert(@m[pid % 8] == 5);")), .verified)
        expect(try verify(probe("@m[pid % 8] = 5; assert(@m[tid % 8] == 5);")), .violated)
        // Another thread of the process may run `++` on another CPU between the two statements.
        expect(try verify(probe("@m[pid % 8] = 5; @m[pid % 8]++; assert(@m[pid % 8] == 6);")), .violated)
        expect(try verify(probe("@c[comm] = count(); @c[comm] = count(); $v = @c[comm]; assert($v >= 2);")),
               .violated) // the count before this run is unknown and may wrap
        expect(try verify(probe("$a = @m[1]; $b = @m[1]; assert($a == $b);")), .verified)
        expect(try verify(probe("delete(@m[pid]); assert(@m[pid] == 0);")), .verified)
    }

    func testAnotherProbeKnowsNothingOfWrites() throws {
        let source = """
        tracepoint:syscalls:sys_enter_openat { @m[pid] = 5; }
        tracepoint:syscalls:sys_exit_openat { assert(@m[pid] == 5); }
        """
        let result = try verify(source)
        expect(result, .violated)
        XCTAssertEqual(result.asserts[0].probe, "tracepoint:syscalls:sys_exit_openat")
    }

    func testPrintedValueCanBeAsserted() throws {
        expect(try verify(probe("$x = args->a * 2; printf(\"%d\\n\", $x); assert($x % 2 == 0);")), .verified)
    }

    func testGhostVariablesAreFixedPerRun() throws {
        // An unassigned variable in an annotation names an arbitrary but fixed value.
        expect(try verify(probe("assume($limit < 10); $x = $limit; assert($x < 10);")), .verified)
        expect(try verify(probe("$x = $limit; assert($x < 10);")), .violated)
    }
}

extension WorldModelTests {
    func testMultiKeyMapsAndArgsDotSyntax() throws {
        expect(try verify(probe("@m[(uint8)pid, \"a\"] = 3; assert(@m[(uint8)pid, \"a\"] == 3);")), .verified)
        expect(try verify(probe("@m[(uint8)pid, \"a\"] = 3; @m[(uint8)tid, \"a\"] = 4; "
                                + "assert(@m[(uint8)pid, \"a\"] == 3);")), .violated)
        expect(try verify(probe("$a = args.count; assert($a == args.count);")), .verified)
    }

    func testTupleElements() throws {
        expect(try verify(probe("$t = (pid, 5); assert($t.1 == 5);")), .verified)
        expect(try verify(probe("$t = (pid, 5); assert($t.0 == 5);")), .violated)
    }
}

extension WorldModelTests {
    func testDefinesAndABIConstants() throws {
        let source = "#define LIMIT 0x10\n" + probe("$x = (uint8)args->a % LIMIT; assert($x < 16); assert(AF_INET6 == 10);")
        let result = try verify(source)
        expect(result, .verified, assert: 0)
        expect(result, .verified, assert: 1)
        XCTAssertTrue(result.asserts[1].vacuous)
    }
}
