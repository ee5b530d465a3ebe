import Foundation
import XCTest
@testable import BpftraceSyntax

/// Property test: random well-formed trees (every expression and statement kind, deep
/// nesting, awkward operator mixes) print to text that parses back to the same tree.
/// This checks printer and parser against each other on shapes no hand-written test covers.
final class GeneratedTreeTests: XCTestCase {
    struct Generator {
        var rng: FuzzTests.SeededGenerator

        mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        mutating func count(_ max: UInt64) -> Int { Int(rng.next() % (max + 1)) }

        static let names = ["a", "b", "kv", "sk", "task", "x1", "len", "ret"]
        static let identifiers = ["AF_INET", "TASK_RUNNING", "perf", "NR_x", "my_enum"]
        static let builtins = ["pid", "tid", "comm", "nsecs", "retval", "arg0", "arg3", "cpu", "curtask", "args", "ctx", "sarg1"]
        static let functions = ["printf", "str", "count", "hist", "lhist", "ntop", "kaddr", "bswap", "delete", "print", "buf", "comm"]
        static let integers = ["0", "1", "42", "0x1f", "0X10", "017", "1_000", "10u", "7ul", "2e3", "1s", "100ms", "5us", "18446744073709551615"]
        static let strings = ["", "a", "with space", "tab\there", "nl\n", "q\"uote", "back\\slash", "ctl\u{1}x", "héllo ✓", "%s %d\n"]
        static let types = ["u8", "uint16", "int32", "u64", "struct sock", "struct task_struct", "union u", "enum e"]

        mutating func typeName() -> TypeName {
            let base = pick(Self.types)
            var t = TypeName(base: base, pointerDepth: count(2))
            if !t.isRecord && !base.hasPrefix("enum") && t.pointerDepth == 0 && chance(20) { t.arrayCount = 1 + count(15) }
            return t
        }

        mutating func expression(_ depth: Int) -> Expr {
            if depth <= 0 || chance(25) { return leaf() }
            let d = depth - 1
            let kind: ExpressionKind
            switch rng.next() % 14 {
            case 0: kind = .binary(pick(BinaryOperator.allCases), expression(d), expression(d))
            case 1: kind = .unary(pick([.negate, .logicalNot, .bitNot, .dereference, .addressOf]), expression(d))
            case 2: kind = .ternary(condition: expression(d), then: expression(d), else: expression(d))
            case 3: kind = .cast(typeName(), expression(d))
            case 4:
                let arrow = chance(50)
                kind = .fieldAccess(nonLiteral(d), field: arrow ? pick(["f", "sk_state", "pid"]) : pick(["f", "0", "1", "pid"]), arrow: arrow)
            case 5: kind = .index(nonLiteral(d), expression(d))
            case 6: kind = .tuple((0..<(2 + count(2))).map { _ in expression(d) })
            case 7: kind = .call(name: pick(Self.functions), arguments: (0..<count(3)).map { _ in expression(d) })
            case 8: kind = .map(name: pick(["", "m", "start", "bytes"]), keys: (0..<count(2)).map { _ in expression(d) })
            case 9:
                var type = typeName()
                type.pointerDepth = 0
                kind = .sizeof(chance(50) ? .type(type) : .expression(expression(d)))
            case 10: kind = .offsetof(.type(TypeName(base: "struct sock")), field: (0..<(1 + count(2))).map { _ in pick(["a", "b", "c"]) })
            case 11: kind = .incrementDecrement(pick(IncrementDecrementOperator.allCases), prefix: chance(50),
                                                Expression(.variable(pick(Self.names))))
            case 12: kind = .binary(pick([.add, .subtract, .divide]), expression(d), Expression(.unary(.negate, expression(d))))
            default: kind = .fieldAccess(Expression(.builtin("args")), field: "filename", arrow: chance(50))
            }
            return Expression(kind)
        }

        /// Bases of `.`/`[]` must not be integer literals (`1.5` reads as a float).
        mutating func nonLiteral(_ depth: Int) -> Expr {
            var e = expression(depth)
            while case .integer = e.kind { e = Expression(.variable(pick(Self.names))) }
            return e
        }

        mutating func leaf() -> Expr {
            let kind: ExpressionKind
            switch rng.next() % 9 {
            case 0: let t = pick(Self.integers)
                if case let .success(v, _) = IntegerLiteralParser.parse(t.utf8) { kind = .integer(IntegerLiteral(value: v, text: t)) } else { kind = .error }
            case 1: kind = .string(pick(Self.strings))
            case 2: kind = .boolean(chance(50))
            case 3: kind = .variable(pick(Self.names))
            case 4: kind = .map(name: pick(["", "m", "count"]), keys: [])
            case 5: kind = .positional(1 + count(3))
            case 6: kind = .positionalCount
            case 7: kind = .builtin(pick(Self.builtins))
            default: kind = .identifier(pick(Self.identifiers))
            }
            return Expression(kind)
        }

        mutating func block(_ depth: Int) -> Block {
            Block((0..<count(depth > 0 ? 4 : 2)).map { _ in statement(depth - 1) })
        }

        mutating func statement(_ depth: Int) -> Statement {
            let e = 3
            let kind: StatementKind
            switch depth > 0 ? rng.next() % 16 : rng.next() % 7 {
            case 0: kind = .expression(expression(e))
            case 1: kind = .assignment(target: Expression(.variable(pick(Self.names))), op: pick(AssignmentOperator.allCases), value: expression(e))
            case 2: kind = .assignment(target: Expression(.map(name: "m", keys: [expression(1)])), op: .assign, value: expression(e))
            case 3: kind = .letDeclaration(name: pick(Self.names), type: chance(50) ? typeName() : nil, value: chance(70) ? expression(e) : nil)
            case 4: kind = pick([.breakStatement, .continueStatement, .returnStatement(nil)])
            case 5: kind = .assume(expression(e))
            case 6: kind = .assert(expression(e), message: chance(50) ? pick(Self.strings) : nil)
            case 7, 8: kind = .ifStatement(condition: expression(e), then: block(depth), else: chance(50) ? block(depth) : nil)
            case 9: kind = .unroll(count: Expression(.integer(IntegerLiteral(UInt64(1 + count(9))))), body: block(depth))
            case 10: kind = .whileLoop(condition: expression(e), body: block(depth))
            case 11: kind = .forMap(variable: "kv", map: Expression(.map(name: "m", keys: [])), body: block(depth))
            case 12: kind = .forRange(variable: "i", start: expression(2), end: expression(2), body: block(depth))
            case 13: kind = .block(block(depth))
            case 14: kind = .assignment(target: Expression(.map(name: "", keys: [])), op: .add, value: expression(e))
            default: kind = .assignment(target: Expression(.variable("a")), op: pick(AssignmentOperator.allCases), value: expression(e))
            }
            return Statement(kind)
        }

        mutating func program() -> Program {
            let points = ["BEGIN", "end", "tracepoint:syscalls:sys_enter_openat", "kprobe:vfs_*", "uprobe:/bin/bash:readline",
                          "interval:s:1", "fentry:vfs_read", "profile:hz:99", "usdt:/p:prov:name"]
            let probes = (0..<(1 + count(2))).map { _ -> Probe in
                let aps = (0..<(1 + count(1))).map { _ -> AttachPoint in
                    let text = pick(points)
                    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    return AttachPoint(kind: ProbeKind.from(provider: parts[0]) ?? .begin, provider: parts[0],
                                       target: Array(parts.dropFirst()))
                }
                return Probe(attachPoints: aps, predicate: chance(40) ? expression(3) : nil, body: block(3))
            }
            let preambleChoices: [PreambleItem] = [
                PreambleItem(kind: .include, name: "<linux/sched.h>", text: "#include <linux/sched.h>"),
                PreambleItem(kind: .define, name: "N", text: "#define N 4"),
                PreambleItem(kind: .preprocessor, name: nil, text: "#ifdef X"),
                PreambleItem(kind: .structDefinition, name: "s", text: "struct s { int a; char b[4]; };"),
            ]
            let config: ConfigBlock? = chance(30) ? ConfigBlock(entries: (0..<(1 + count(2))).map { _ in
                ConfigEntry(key: pick(["max_map_keys", "stack_mode", "missing_probes"]),
                            value: pick([Expression(.integer(IntegerLiteral(100))), Expression(.identifier("perf")),
                                         Expression(.string("x")), Expression(.boolean(true))]))
            }) : nil
            let declarations = (0..<count(2)).map { i in
                MapDeclaration(name: "d\(i)", mapType: pick(["hash", "lruhash", "percpuhash"]),
                               maxEntries: IntegerLiteral(UInt64(1 + count(9000))))
            }
            return Program(shebang: chance(30) ? "#!/usr/bin/env bpftrace" : nil,
                           preamble: (0..<count(3)).map { _ in pick(preambleChoices) }, config: config,
                           mapDeclarations: declarations, probes: probes)
        }
    }

    static func firstDifference(_ a: Program, _ b: Program) -> String {
        let x = a.withoutLocations(), y = b.withoutLocations()
        for (p, q) in zip(x.probes, y.probes) {
            if p.attachPoints != q.attachPoints { return "attach points: \(p.attachPoints) vs \(q.attachPoints)" }
            if p.predicate != q.predicate { return "predicate:\n\(String(describing: p.predicate))\nvs\n\(String(describing: q.predicate))" }
            for (s, t) in zip(p.body.statements, q.body.statements) where s != t {
                let a = Array("\(s)"), b = Array("\(t)")
                var i = 0
                while i < min(a.count, b.count), a[i] == b[i] { i += 1 }
                let from = max(0, i - 300)
                return "statement differs at:\n" + String(a[from..<min(a.count, i + 200)]) + "\nvs\n" + String(b[from..<min(b.count, i + 200)])
            }
            if p.body.statements.count != q.body.statements.count { return "statement count" }
        }
        return "probe count \(x.probes.count) vs \(y.probes.count)"
    }

    func testRandomTreesPrintAndParseBack() {
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED
        var generator = Generator(rng: FuzzTests.SeededGenerator(state: seed))
        var failures = 0
        for iteration in 0..<1_500 {
            let program = generator.program()
            let printed = Printer.print(program)
            let parsed = Parser.parse(source: printed, file: "gen\(iteration).bt")
            if parsed.hasErrors || !parsed.partialProgram.isStructurallyEqual(to: program) {
                failures += 1
                if failures <= 3 {
                    XCTFail("iteration \(iteration):\n\(printed)\n" + Diagnostic.render(parsed.diagnostics, source: printed)
                            + "\nfirst difference:\n" + Self.firstDifference(program, parsed.partialProgram))
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    /// Whatever lowering does to a tree, its output is still valid syntax.
    func testLoweredRandomTreesStillParse() {
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x10_4E12
        var generator = Generator(rng: FuzzTests.SeededGenerator(state: seed))
        for iteration in 0..<500 {
            let program = generator.program()
            for dialect in [BpftraceDialect.v0_17, BpftraceDialect(version: BpftraceVersion(0, 21))] {
                let lowered = Printer.print(stripAnnotations(program), dialect: dialect)
                let parsed = Parser.parse(source: lowered.text, file: "lowered\(iteration).bt")
                XCTAssertFalse(parsed.hasErrors, "iteration \(iteration):\n\(lowered.text)\n"
                               + Diagnostic.render(parsed.diagnostics, source: lowered.text))
            }
        }
    }
}
