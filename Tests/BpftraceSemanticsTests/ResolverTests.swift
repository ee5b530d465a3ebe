import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import XCTest

/// Resolution of small programs against the running kernel: types, kernel facts, and
/// precise diagnostics with "did you mean" hints.
final class ResolverTests: XCTestCase {
    static let kernel = KernelInfo.shared()

    func requireKernel() throws -> KernelInfo {
        guard Self.kernel.tracefs != nil, Self.kernel.btf != nil else {
            throw XCTSkip("tracefs or BTF unavailable: \(Self.kernel.problems)")
        }
        return Self.kernel
    }

    func check(_ source: String) throws -> CheckResult {
        let result = Checker.check(source: source, file: "t.bt", kernel: try requireKernel())
        XCTAssertNotNil(result.resolved, Checker.renderText([result]))
        return result
    }

    func errors(_ r: CheckResult) -> [Diagnostic] { r.diagnostics.filter { $0.severity == .error } }

    func testUnknownTracepointHasLocationAndSuggestion() throws {
        let r = try check("BEGIN { }\n  tracepoint:syscalls:sys_enter_opnat { @n = count(); }\n")
        let e = try XCTUnwrap(errors(r).first)
        XCTAssertEqual(errors(r).count, 1)
        XCTAssertEqual(e.message, "unknown tracepoint 'syscalls:sys_enter_opnat'")
        XCTAssertEqual(e.hint, "did you mean 'tracepoint:syscalls:sys_enter_openat'?")
        XCTAssertEqual(e.range.start.line, 2)
        XCTAssertEqual(e.range.start.column, 3)
        XCTAssertEqual(e.range.end.column, 3 + "tracepoint:syscalls:sys_enter_opnat".count)
    }

    func testWildcardWithNoMatch() throws {
        let r = try check("tracepoint:syscalls:sys_enter_zzz* { }")
        XCTAssertEqual(errors(r).map(\.message), ["no tracepoint matches 'syscalls:sys_enter_zzz*'"])
        let ok = try check("tracepoint:syscalls:sys_enter_open* { @[probe] = count(); }")
        XCTAssertEqual(errors(ok), [])
        XCTAssertTrue(ok.resolved?.attachPoints.first?.targets.contains("syscalls:sys_enter_openat") ?? false)
    }

    func testUnknownFieldPointsAtTheFieldName() throws {
        let source = "tracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->filenme)); }"
        let r = try check(source)
        let e = try XCTUnwrap(errors(r).first)
        XCTAssertEqual(e.message, "tracepoint syscalls:sys_enter_openat has no field 'filenme'")
        XCTAssertTrue(e.hint?.hasPrefix("did you mean 'filename'?") ?? false, e.hint ?? "")
        let column = source.utf8.count - " \"%s\\n\", str(args->filenme)); }".utf8.count
        XCTAssertGreaterThan(column, 0)
        let fieldColumn = (source.range(of: "filenme").map { source.utf8.distance(from: source.startIndex, to: $0.lowerBound) } ?? 0) + 1
        XCTAssertEqual(e.range.start.column, fieldColumn)
        XCTAssertEqual(e.range.end.column, fieldColumn + 7)
    }

    func testTracepointTypesAndUserPointers() throws {
        let r = try check("""
        tracepoint:syscalls:sys_enter_openat { $f = args->filename; $d = args.dfd; @c[comm] = count(); }
        tracepoint:sched:sched_switch { $n = args->prev_comm; $p = args->prev_pid; }
        """)
        XCTAssertEqual(errors(r), [])
        let resolved = try XCTUnwrap(r.resolved)
        func value(of variable: String, probe: Int) -> BpftraceSyntax.Expression? {
            for s in resolved.program.probes[probe].body.statements {
                if case let .assignment(target, _, value) = s.kind, case .variable(variable) = target.kind { return value }
            }
            return nil
        }
        let filename = try XCTUnwrap(value(of: "f", probe: 0))
        XCTAssertEqual(filename.type, .pointer(to: .integer(bits: 8, signed: true)))
        XCTAssertEqual(resolved.kernelValue(of: filename)?.isUserPointer, true)
        XCTAssertEqual(value(of: "d", probe: 0)?.type, .integer(bits: 64, signed: true))
        let comm = try XCTUnwrap(value(of: "n", probe: 1))
        XCTAssertEqual(comm.type, .string(size: 16))
        XCTAssertEqual(resolved.kernelValue(of: comm)?.isUserPointer, false)
        XCTAssertEqual(value(of: "p", probe: 1)?.type, .integer(bits: 32, signed: true))
    }

    func testBTFMemberChainKeepsTypedefName() throws {
        let r = try check("kfunc:tcp_sendmsg { $sk = args->sk; @p[$sk->__sk_common.skc_dport] = count(); $x = ((struct sock *)args->sk)->__sk_common.skc_family; }")
        XCTAssertEqual(errors(r), [], Checker.renderText([r]))
        let resolved = try XCTUnwrap(r.resolved)
        let dport = resolved.kernelValues.values.first {
            if case .member(_, "skc_dport") = $0.origin { return true } else { return false }
        }
        XCTAssertEqual(dport?.typedefName, "__be16")
        XCTAssertEqual(dport.map { TypeMappingProbe.semantic($0) }, .integer(bits: 16, signed: false))
    }

    func testUnknownStructAndMemberSuggestions() throws {
        let r = try check("BEGIN { $s = (struct sockk *)0; $t = (struct sock *)0; $p = $t->__sk_common.skc_dprt; }")
        let es = errors(r)
        XCTAssertEqual(es.map(\.message), ["unknown type 'struct sockk'", "struct sock_common has no member 'skc_dprt'"])
        XCTAssertEqual(es.first?.hint, "did you mean 'struct sock'?")
        XCTAssertEqual(es.last?.hint, "did you mean 'skc_dport'?")
    }

    func testKfuncArgumentsAndRetval() throws {
        let r = try check("kfunc:vfs_raed { } kfunc:vfs_read { @z = args->cnt; } kretfunc:vfs_read { @r = retval; @b = args->count; }")
        let es = errors(r)
        XCTAssertEqual(es.map(\.message), ["unknown kernel function 'vfs_raed'", "function vfs_read has no argument 'cnt'"])
        XCTAssertEqual(es.first?.hint, "did you mean 'kfunc:vfs_read'?")
        XCTAssertTrue(es.last?.hint?.contains("did you mean 'count'?") ?? false)
        XCTAssertEqual(r.resolved?.mapTypes["r"], .integer(bits: 64, signed: true), "ssize_t")
        XCTAssertEqual(r.resolved?.mapTypes["b"], .integer(bits: 64, signed: false), "size_t")
    }

    func testUnavailableKprobeSuggestsAlternatives() throws {
        let kernel = try requireKernel()
        guard kernel.catalogue.unavailableReason(.kprobe) != nil else { throw XCTSkip("this kernel has kprobes") }
        guard kernel.tracefs?.contains(category: "tcp", name: "tcp_retransmit_skb") == true else {
            throw XCTSkip("no tcp:tcp_retransmit_skb tracepoint")
        }
        let r = try check("kprobe:tcp_retransmit_skb { @n = count(); }")
        let e = try XCTUnwrap(errors(r).first)
        XCTAssertEqual(errors(r).count, 1)
        XCTAssertTrue(e.message.hasPrefix("cannot attach 'kprobe:tcp_retransmit_skb': kprobes are not available on this kernel"))
        XCTAssertTrue(e.hint?.contains("tracepoint:tcp:tcp_retransmit_skb") ?? false, e.hint ?? "")
        XCTAssertTrue(e.hint?.contains("kfunc:tcp_retransmit_skb") ?? false, e.hint ?? "")
    }

    func testMalformedTracepointAndMissingBinary() throws {
        let r = try check("tracepoint:sys_enter_openat { } uprobe:/no/such/binary:main { } uprobe:/bin/sh:main { }")
        let es = errors(r)
        XCTAssertEqual(es.map(\.message), ["tracepoint 'tracepoint:sys_enter_openat' must be written as tracepoint:CATEGORY:NAME",
                                           "no such file '/no/such/binary' for 'uprobe:/no/such/binary:main'"])
        XCTAssertEqual(es.first?.hint, "did you mean 'tracepoint:syscalls:sys_enter_openat'?")
    }

    func testEnumConstantsAndUnknownFunctions() throws {
        let r = try check("BEGIN { @a = TCP_ESTABLISHED; @b = TCP_ESTABLISED; @c = strcmp(\"a\", \"b\"); }")
        XCTAssertEqual(errors(r).map(\.message), ["unknown identifier 'TCP_ESTABLISED'"])
        XCTAssertEqual(errors(r).first?.hint, "did you mean 'TCP_ESTABLISHED'?")
        let warning = try XCTUnwrap(r.diagnostics.first { $0.severity == .warning })
        XCTAssertEqual(warning.message, "unknown function 'strcmp'")
        XCTAssertEqual(warning.hint, "did you mean 'strncmp'?")
    }

    func testIteratorTargets() throws {
        let r = try check("iter:task { } iter:tsak { }")
        XCTAssertEqual(errors(r).map(\.message), ["unknown iterator 'tsak'"])
        XCTAssertEqual(errors(r).first?.hint, "did you mean 'iter:task'?")
        XCTAssertEqual(r.resolved?.attachPoints.first?.targets, ["task"])
    }

    func testConfigValuesAreTypedWithoutErrors() throws {
        let r = try check("config = { max_strlen = 128; stack_mode = perf }\nBEGIN { @a = 1; }")
        XCTAssertEqual(errors(r), [], Checker.renderText([r]))
        let entries = r.resolved?.program.config?.entries ?? []
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries.first?.value.type, .integer(bits: 64, signed: true))
        XCTAssertEqual(entries.last?.value.type, .unknown)
    }

    func testUndefinedVariableAndMap() throws {
        let r = try check("BEGIN { $a = 1; print($b); print(@never); @later = $a; }")
        XCTAssertEqual(errors(r).map(\.message), ["use of undefined variable '$b'", "map '@never' is read but never assigned"])
    }

    func testMapTypedAcrossProbes() throws {
        let r = try check("tracepoint:sched:sched_switch /@start[tid]/ { @d = nsecs - @start[tid]; } tracepoint:sched:sched_wakeup { @start[args->pid] = nsecs; }")
        XCTAssertEqual(errors(r), [])
        XCTAssertEqual(r.resolved?.mapTypes["start"], .integer(bits: 64, signed: false))
    }

    func testBuiltinTypes() throws {
        let r = try check("BEGIN { @a = pid; @b = comm; @c = curtask; @d = nsecs; }")
        XCTAssertEqual(r.resolved?.mapTypes["a"], .integer(bits: 64, signed: false))
        XCTAssertEqual(r.resolved?.mapTypes["b"], .string(size: 16))
        XCTAssertEqual(r.resolved?.mapTypes["c"], .pointer(to: .record(name: "struct task_struct")))
    }

    func testArgsInWrongProbeKind() throws {
        let r = try check("BEGIN { @x = args->foo; } tracepoint:sched:sched_switch { @y = arg0; }")
        let es = errors(r)
        XCTAssertEqual(es.count, 2, Checker.renderText([r]))
        XCTAssertEqual(es.last?.message, "'arg0' is not available in tracepoint probes")
    }

    func testNoKernelModeOnlyParses() {
        let ok = Checker.check(source: "tracepoint:nope:nope { $x = args->zzz; }", file: "a.bt", kernel: nil)
        XCTAssertEqual(ok.diagnostics, [])
        XCTAssertNil(ok.resolved)
        let bad = Checker.check(source: "BEGIN { $x = ; }", file: "b.bt", kernel: nil)
        XCTAssertTrue(bad.hasErrors)
        XCTAssertTrue(Checker.renderText([bad]).hasPrefix("b.bt:1:"))
    }

    func testJSONRendering() throws {
        let r = try check("tracepoint:syscalls:sys_enter_opnat { }")
        let json = Checker.renderJSON([r])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(object?["errorCount"] as? Int, 1)
        let files = object?["files"] as? [[String: Any]]
        let d = (files?.first?["diagnostics"] as? [[String: Any]])?.first
        XCTAssertEqual(d?["line"] as? Int, 1)
        XCTAssertEqual(d?["column"] as? Int, 1)
        XCTAssertEqual(d?["severity"] as? String, "error")
        XCTAssertEqual(d?["hint"] as? String, "did you mean 'tracepoint:syscalls:sys_enter_openat'?")
    }

    func testFormatRoundTrips() throws {
        let source = "BEGIN{printf(\"hi\\n\");exit();}"
        guard case let .success(text) = Checker.format(source: source, file: "f.bt") else { return XCTFail("format failed") }
        XCTAssertTrue(text.contains("printf(\"hi\\n\");"))
        guard case .success(text) = Checker.format(source: text, file: "f.bt") else { return XCTFail("not idempotent") }
        guard case let .failure(failure) = Checker.format(source: "BEGIN {", file: "g.bt") else { return XCTFail("should fail") }
        XCTAssertTrue(failure.description.hasPrefix("g.bt:1:"))
    }

    func testUnreadableFileIsADiagnostic() {
        let r = Checker.check(path: "/nonexistent/x.bt", kernel: nil)
        XCTAssertTrue(r.hasErrors)
        XCTAssertEqual(r.diagnostics.first?.message, "cannot read file")
    }
}

/// Maps a kernel value's C type the way the resolver does, for assertions.
enum TypeMappingProbe {
    static func semantic(_ info: KernelValueInfo) -> SemanticType {
        if case let .integer(i) = info.cType.resolved { return .integer(bits: i.bits, signed: i.signed) }
        return .unknown
    }
}

/// The program's own C definitions shadow BTF's (as tool scripts such as runqlen.bt rely on).
final class PreambleRecordTests: XCTestCase {
    func testPreambleStructMembersAreTyped() throws {
        let kernel = KernelInfo.shared()
        guard kernel.btf != nil else { throw XCTSkip("kernel BTF unavailable") }
        let source = """
        #include <linux/sched.h>
        struct cfs_rq {
        \tstruct load_weight load;
        \tunsigned long runnable_weight;
        \tunsigned int nr_running; // comment
        \tunsigned int h_nr_running;
        };
        struct weird { int (*fn)(void); };
        BEGIN { $q = (struct cfs_rq *)0; @n = $q->nr_running; @m = $q->nr_runing; $w = (struct weird *)0; @o = $w->anything; }
        """
        let r = Checker.check(source: source, file: "p.bt", kernel: kernel)
        let errors = r.diagnostics.filter { $0.severity == .error }
        XCTAssertEqual(errors.map(\.message), ["struct cfs_rq has no member 'nr_runing'"], Checker.renderText([r]))
        XCTAssertEqual(errors.first?.hint, "did you mean 'nr_running'?")
        XCTAssertEqual(r.resolved?.mapTypes["n"], .integer(bits: 32, signed: false))
        XCTAssertEqual(r.resolved?.mapTypes["o"], .unknown, "opaque definitions accept any member")
    }
}
