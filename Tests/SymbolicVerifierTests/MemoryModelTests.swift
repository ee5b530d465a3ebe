import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// The memory model of docs/semantics.md, one VIOLATED/VERIFIED pair per rule. Each violation
/// must name what makes it fail: the interleaving, the re-read, or the full map.
final class MemoryModelTests: XCTestCase {
    private func interleaving(_ result: VerificationResult, assert index: Int = 0) -> [String] {
        result.asserts.indices.contains(index) ? result.asserts[index].counterexample?.interleaving ?? [] : []
    }

    private func expectEvent(_ result: VerificationResult, containing parts: [String], assert index: Int = 0,
                             file: StaticString = #filePath, line: UInt = #line) {
        let events = interleaving(result, assert: index)
        XCTAssertTrue(events.contains { event in parts.allSatisfy(event.contains) },
                      "no interleaving line with \(parts):\n\(result.renderText())", file: file, line: line)
    }

    // MARK: A map entry is stable only without a concurrent writer of another value

    func testAnotherProbeMayOverwriteAMapBetweenWriteAndRead() throws {
        let source = """
        tracepoint:syscalls:sys_enter_openat { @x = 1; $v = @x; assert($v == 1); }
        tracepoint:syscalls:sys_enter_close { @x = 2; }
        """
        let result = try verify(source)
        expect(result, .violated)
        expectEvent(result, containing: ["another probe (tracepoint:syscalls:sys_enter_close)", "may store 2 to @x",
                                         "between the write at 1:40 and the read at 1:53"])
        // Every writer stores the same value: nothing another run does can change what is read.
        let same = source.replacingOccurrences(of: "@x = 2;", with: "@x = 1;")
        expect(try verify(same), .verified)
    }

    func testTheSameProbeOnAnotherCPUIsAWriterToo() throws {
        let result = try verify(probe("@x = pid; $v = @x; assert($v == pid);"))
        expect(result, .violated)
        expectEvent(result, containing: ["this probe (tracepoint:syscalls:sys_enter_openat) on another CPU",
                                         "to @x", "between the write at 3:1 and the read at 3:16"])
        expect(try verify(probe("@x = 7; $v = @x; assert($v == 7);")), .verified)
    }

    func testTwoReadsOfASharedEntryMayDiffer() throws {
        let source = """
        tracepoint:syscalls:sys_enter_read { @last[pid] = args->fd; }
        tracepoint:syscalls:sys_exit_read { $a = @last[pid]; $b = @last[pid]; assert($a == $b); }
        """
        let result = try verify(source)
        expect(result, .violated)
        expectEvent(result, containing: ["another probe (tracepoint:syscalls:sys_enter_read)",
                                         "between the read at 2:42 and the read at 2:59"])
        // Read once into a variable: both uses see the same value.
        let once = source.replacingOccurrences(of: "$b = @last[pid];", with: "$b = $a;")
        expect(try verify(once), .verified)
    }

    /// An insert into an LRU map may evict any entry, this run's own included.
    func testAnLRUMapMayEvictAnEntry() throws {
        let body = "@m[1] = 5; $v = @m[1]; assert($v == 5);"
        let result = try verify("let @m = lruhash(100);\n" + probe(body))
        expect(result, .violated)
        expectEvent(result, containing: ["LRU map @m may evict this entry (reads 0)", "between the write at 4:1"])
        expect(try verify("let @m = hash(100);\n" + probe(body)), .verified)
    }

    /// A thread runs one probe at a time, so an entry keyed by `tid` is written only by this
    /// thread; tracepoints never nest on one CPU. The latency idiom `@start[tid]` is stable.
    func testAnEntryKeyedByTidHasNoConcurrentWriter() throws {
        let source = """
        tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
        tracepoint:syscalls:sys_exit_read /@start[tid] != 0/ { $t = @start[tid]; assert($t != 0); delete(@start[tid]); }
        """
        expect(try verify(source), .verified)
        // A kfunc probe can run nested inside the tracepoint on the same CPU, in the same thread.
        let nested = source.replacingOccurrences(of: "tracepoint:syscalls:sys_enter_read", with: "kfunc:vfs_read")
        let result = try verify(nested)
        expect(result, .violated)
        expectEvent(result, containing: ["another probe (kfunc:vfs_read)", "@start"])
    }

    /// Aggregations live in per-CPU maps: other CPUs update their own slot.
    func testPerCPUAggregationsAreStableButNotAgainstClear() throws {
        let counting = "tracepoint:raw_syscalls:sys_enter { @c = count(); $a = @c; $b = @c; assert($a == $b); }"
        expect(try verify(counting), .verified)
        let result = try verify(counting + "\ninterval:s:1 { clear(@c); }")
        expect(result, .violated)
        expectEvent(result, containing: ["another probe (interval:s:1) may clear @c"])
    }

    // MARK: Memory behind a pointer is never stable

    func testUserMemoryReadTwiceMayDiffer() throws {
        let twice = probe("if (str(args->filename) == \"/etc/hostname\") { assert(str(args->filename) == \"/etc/hostname\"); }")
        let result = try verify(twice)
        expect(result, .violated)
        expectEvent(result, containing: ["str(args->filename) is read again at 3:54 (first at 3:5)",
                                         "may change between reads", "may fault"])
        let once = probe("$f = str(args->filename); if ($f == \"/etc/hostname\") { assert($f == \"/etc/hostname\"); }")
        expect(try verify(once), .verified)
    }

    func testKernelMemoryReadTwiceMayDifferButRecordFieldsAreStable() throws {
        let types: [String: SemanticType] = ["$sk->__sk_common.skc_dport": .integer(bits: 16, signed: false)]
        let twice = probe("$sk = (struct sock *)arg0; if ($sk->__sk_common.skc_dport == 80) "
                          + "{ assert($sk->__sk_common.skc_dport == 80); }")
        let result = try verify(twice, types: types)
        expect(result, .violated)
        expectEvent(result, containing: ["$sk->__sk_common.skc_dport is read again"])
        let once = probe("$sk = (struct sock *)arg0; $p = $sk->__sk_common.skc_dport; if ($p == 80) { assert($p == 80); }")
        expect(try verify(once, types: types), .verified)
        // A tracepoint's fields are copied into its record before the probe runs.
        expect(try verify(probe("if (args->flags == 2) { assert(args->flags == 2); }")), .verified)
    }

    // MARK: An insert into a full map does not take effect

    func testAnInsertIntoAFullMapIsLost() throws {
        let result = try verify(probe("@m[args->fd] = 1; $v = @m[args->fd]; assert($v == 1);"))
        expect(result, .violated)
        expectEvent(result, containing: ["map @m may be full (4096 entries): the update at 3:1 does not take effect"])
        // At most 64 keys: the map never fills.
        expect(try verify(probe("@m[args->fd % 64] = 1; $v = @m[args->fd % 64]; assert($v == 1);")), .verified)
        // A declared capacity counts, and so do all the keys other probes insert.
        let declared = "let @m = hash(8);\n" + probe("@m[args->fd % 64] = 1; $v = @m[args->fd % 64]; assert($v == 1);")
        expectEvent(try verify(declared), containing: ["map @m may be full (8 entries)"])
    }

    func testAFailedInsertLeavesZero() throws {
        // The insert fails only for a new key, which then still reads as zero.
        expect(try verify(probe("@m[args->fd] = 1; $v = @m[args->fd]; assert($v == 1 || $v == 0);")), .verified)
    }
}
