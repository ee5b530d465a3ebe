import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import XCTest

/// Ken's types for tracepoint fields and builtins must match what the installed bpftrace's
/// own type checker says (`bpftrace -d` dry run prints the typed AST).
final class BpftraceAgreementTests: XCTestCase {
    func testFieldAndBuiltinTypesMatchBpftrace() throws {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil else { throw XCTSkip("tracefs unavailable") }
        let bpftrace = ["/usr/bin/bpftrace", "/usr/sbin/bpftrace", "/usr/local/bin/bpftrace"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let bpftrace else { throw XCTSkip("bpftrace not installed") }
        let program = """
        tracepoint:syscalls:sys_enter_openat { $a = args->filename; $b = args->dfd; $c = args->mode; $d = args->flags; $e = pid; $f = comm; $g = nsecs; $h = uid; $i = cpu; }
        tracepoint:syscalls:sys_enter_kill { $j = args->pid; $k = args->sig; }
        tracepoint:sched:sched_switch { $l = args->prev_comm; $m = args->prev_pid; $n = args->prev_state; $o = args->next_prio; }
        tracepoint:syscalls:sys_enter_read { $p = args->fd; $q = args->count; $r = args->buf; }
        BEGIN { $s = (struct sock *)0; $sd = $s->__sk_common.skc_dport; $sf = $s->__sk_common.skc_family; $t = curtask; $tp = $t->pid; $tc = $t->comm; $tr = $t->real_parent; $tg = $t->real_parent->tgid; $cx = (uint32)5; $cy = 1 + 2; $cz = $tp + 1; $cw = $sd == 5; $ci = (int16)$tp; $u = -$cx; }
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bpftrace)
        process.arguments = ["-d", "-e", program]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let semantic = output.range(of: "AST after: Semantic") else {
            throw XCTSkip("bpftrace -d printed no typed AST (needs root/BPF): \(output.prefix(300))")
        }
        // `variable: $a :: type[int8 *, ctx: 0, AS(user)]` → ("a", "int8 *")
        var theirs: [String: String] = [:]
        for line in output[semantic.upperBound...].split(separator: "\n") {
            if line.contains("AST after:") { break }
            guard let v = line.range(of: "variable: $"), let t = line.range(of: ":: type[") else { continue }
            let name = String(line[v.upperBound..<t.lowerBound]).trimmingCharacters(in: .whitespaces)
            let rest = line[t.upperBound...]
            let type = rest.split(separator: ",", maxSplits: 1).first.map(String.init) ?? ""
            if theirs[name] == nil { theirs[name] = type }
        }
        XCTAssertGreaterThanOrEqual(theirs.count, 30, output)

        let result = Checker.check(source: program, file: "agree.bt", kernel: kernel)
        let resolved = try XCTUnwrap(result.resolved)
        XCTAssertFalse(result.hasErrors, Checker.renderText([result]))
        var ours: [String: SemanticType] = [:]
        for probe in resolved.program.probes {
            for s in probe.body.statements {
                if case let .assignment(target, _, value) = s.kind, case let .variable(name) = target.kind {
                    ours[name] = value.type
                }
            }
        }
        for (name, theirType) in theirs.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(Self.spell(ours[name]), theirType, "$\(name)")
        }
    }

    /// Map value types of builtin functions and builtins agree with bpftrace's.
    func testMapValueTypesMatchBpftrace() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bpftrace") else { throw XCTSkip("bpftrace not installed") }
        let program = "BEGIN { @c = count(); @h = hist(5); @s[comm] = sum(3); @a = avg(1); @m = max(1); @st = stats(1); @lh = lhist(1, 0, 10, 1); @start[tid] = nsecs; @k = kstack; @us = ustack; @sym = ksym(0); @u = usym(0); @n = ntop(0); @str = str(0); @t = (1, \"a\"); @cg = cgroup; @un = username; @cm = comm; }"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/bpftrace")
        process.arguments = ["-d", "-e", program]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let start = output.range(of: "AST after: Semantic") else { throw XCTSkip("bpftrace -d printed no typed AST") }
        var theirs: [String: String] = [:]
        for line in output[start.upperBound...].split(separator: "\n") {
            if line.contains("AST after:") { break }
            guard let m = line.range(of: "map: @"), let t = line.range(of: " :: type[") else { continue }
            let name = String(line[m.upperBound..<t.lowerBound])
            let rest = line[t.upperBound...]
            // Tuples contain commas: cut at ", ctx:".
            theirs[name] = rest.range(of: ", ctx:").map { String(rest[..<$0.lowerBound]) } ?? String(rest)
        }
        let result = Checker.check(source: program, file: "maps.bt", kernel: KernelInfo.shared())
        let mapTypes = try XCTUnwrap(result.resolved?.mapTypes)
        XCTAssertGreaterThanOrEqual(theirs.count, 17, output)
        for (name, theirType) in theirs.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(Self.spell(mapTypes[name]), theirType, "@\(name)")
        }
    }

    /// bpftrace's spelling of a type, e.g. `unsigned int64`, `int8 *`, `string[16]`.
    static func spell(_ t: SemanticType?) -> String {
        switch t {
        case let .integer(bits, signed)?: return (signed ? "" : "unsigned ") + "int\(bits)"
        case let .pointer(inner)?: return spell(inner) + " *"
        case let .string(size)?: return "string[\(size ?? 0)]"
        case let .record(name)?: return name
        case let .mapAggregate(kind)?: return kind.rawValue
        case let .stack(user)?: return user ? "ustack" : "kstack"
        case let .symbol(user)?: return user ? "usym" : "ksym"
        case .inet?: return "inet"
        case .username?: return "username"
        case let .tuple(elements)?: return "(" + elements.map { spell($0) }.joined(separator: ",") + ")"
        default: return String(describing: t)
        }
    }
}

/// The same agreement over the installed tool scripts: every `$variable`'s type, probe by
/// probe, for scripts whose probes all exist on this kernel.
final class ToolScriptAgreementTests: XCTestCase {
    func testToolScriptVariableTypesMatchBpftrace() throws {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil, kernel.btf != nil else { throw XCTSkip("tracefs/BTF unavailable") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bpftrace") else { throw XCTSkip("bpftrace not installed") }
        let scripts = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/sbin")) ?? [])
            .filter { $0.hasSuffix(".bt") }.sorted().map { "/usr/sbin/\($0)" }
        var compared = 0
        var mismatches: [String] = []
        for path in scripts {
            let result = Checker.check(path: path, kernel: kernel)
            guard let resolved = result.resolved, !result.hasErrors else { continue }
            let their = try Self.bpftraceVariableTypes(path)
            guard their.count == resolved.program.probes.count else { continue }
            for (probe, theirs) in zip(resolved.program.probes, their) {
                var ours: [String: SemanticType] = [:]
                _ = TreeTransform(statement: { s in
                    if case let .assignment(target, .assign, value) = s.kind, case let .variable(name) = target.kind,
                       ours[name] == nil {
                        ours[name] = value.type
                    }
                    return [s]
                }).apply(probe)
                for (name, type) in theirs {
                    guard let mine = ours[name] else { continue }
                    compared += 1
                    let spelled = BpftraceAgreementTests.spell(mine)
                    if spelled != type, !(type.hasPrefix("string[") && spelled == "string[0]") {
                        mismatches.append("\(path) $\(name): bpftrace \(type), Ken \(spelled)")
                    }
                }
            }
        }
        print("tool-script agreement: \(compared) variables compared, \(mismatches.count) mismatches")
        XCTAssertEqual(mismatches, [])
        XCTAssertGreaterThan(compared, 10)
    }

    /// Per probe, the first type bpftrace's checker gives each `$variable` it assigns.
    static func bpftraceVariableTypes(_ path: String) throws -> [[String: String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/bpftrace")
        process.arguments = ["-d", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let start = output.range(of: "AST after: Semantic") else { return [] }
        var probes: [[String: String]] = []
        var previous = ""
        for line in output[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("AST after:") { break }
            // Probes are at one space of indent; attach-point lists print one per line.
            if line.hasPrefix(" "), !line.hasPrefix("  "), !line.hasPrefix(" ="), !line.isEmpty {
                if !previous.hasPrefix(" ") || previous.hasPrefix("  ") || probes.isEmpty { probes.append([:]) }
            }
            previous = String(line)
            // An assignment's target is the first child of `=`, at two more spaces.
            guard let v = line.range(of: "variable: $"), let t = line.range(of: ":: type["), !probes.isEmpty else { continue }
            let name = String(line[v.upperBound..<t.lowerBound]).trimmingCharacters(in: .whitespaces)
            let type = line[t.upperBound...].split(separator: ",", maxSplits: 1).first.map(String.init) ?? ""
            if probes[probes.count - 1][name] == nil { probes[probes.count - 1][name] = type }
        }
        return probes
    }
}
