import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import SymbolicVerifier
import XCTest

/// The annotated corpus (`corpus/annotated/*.bt`) against the real resolver and verifier.
final class AnnotatedCorpusTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("corpus/annotated")

    func programs() throws -> [(name: String, text: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".bt") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 12, "the annotated corpus shrank")
        return try names.map { ($0, try String(contentsOf: Self.directory.appendingPathComponent($0), encoding: .utf8)) }
    }

    func kernel() throws -> KernelInfo {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil, kernel.btf != nil else {
            throw XCTSkip("tracefs or BTF is missing: the annotated programs cannot be resolved against this kernel")
        }
        return kernel
    }

    func testEveryAnnotatedProgramIsVerifiedWithoutVacuity() throws {
        let kernel = try kernel()
        for (name, text) in try programs() {
            let program: Program
            switch VerificationFrontEnd.prepare(source: text, file: name, kernel: kernel) {
            case .failure(let failure):
                XCTFail("\(name): \(failure.diagnostics.map { $0.render(source: text) })")
                continue
            case .success(let typed):
                program = typed
            }
            let result = SymbolicVerifier().verify(program)
            XCTAssertEqual(result.verdict, .verified, "\(name):\n\(result.renderText())")
            XCTAssertFalse(result.asserts.isEmpty, "\(name) has no assert")
            XCTAssertFalse(result.asserts.contains { $0.vacuous }, "\(name) has a vacuous assert:\n\(result.renderText())")
            XCTAssertTrue(result.warnings.isEmpty, "\(name): \(result.warnings)")
        }
    }

    /// Programs whose asserts do not hinge on a predicate, and the edit that must break them.
    static let textualMutations: [String: (from: String, to: String)] = [
        "dport-host-order.bt": ("$dport = bswap($raw);", "$dport = $raw;"),
        "fd-clamp.bt": ("args->fd < 100 ? args->fd : 100", "args->fd < 100 ? args->fd : 101"),
        "kill-ptrace.bt": ("$victim = pid;", "$victim = tid;"),
        "unroll-sum.bt": ("unroll(4)", "unroll(3)"),
        "shadow-open.bt": ("if ($path == \"/etc/shadow\")", "if ($path != \"/etc/passwd\")"),
    ]

    /// The asserts depend on the program: without its filter (or with the edit above), each
    /// program must fail verification.
    func testBreakingTheProgramViolatesItsAsserts() throws {
        let kernel = try kernel()
        var mutated = 0
        for (name, text) in try programs() {
            let source: String
            if let mutation = Self.textualMutations[name] {
                XCTAssertTrue(text.contains(mutation.from), "\(name) no longer contains \(mutation.from)")
                source = text.replacingOccurrences(of: mutation.from, with: mutation.to)
            } else {
                guard var program = Parser.parse(source: text, file: name).program,
                      program.probes.contains(where: { $0.predicate != nil && $0.body.statements.contains(where: Self.isAssert) })
                else { continue }
                for index in program.probes.indices where program.probes[index].body.statements.contains(where: Self.isAssert) {
                    program.probes[index].predicate = nil
                }
                source = Printer.print(program)
            }
            guard case .success(let resolved) = VerificationFrontEnd.prepare(source: source, file: name, kernel: kernel) else {
                XCTFail("\(name), mutated, does not resolve")
                continue
            }
            let result = SymbolicVerifier().verify(resolved)
            XCTAssertEqual(result.verdict, .violated, "\(name), mutated:\n\(result.renderText())")
            mutated += 1
        }
        XCTAssertGreaterThanOrEqual(mutated, 12)
    }

    func testStrippedProgramsParseAsPlainBpftrace() throws {
        for (name, text) in try programs() {
            guard let program = Parser.parse(source: text, file: name).program else {
                XCTFail("\(name) does not parse")
                continue
            }
            let stripped = Printer.print(stripAnnotations(program))
            XCTAssertFalse(stripped.contains("assert(") || stripped.contains("assume("), name)
            let reparsed = Parser.parse(source: stripped, file: name)
            XCTAssertNotNil(reparsed.program, "\(name) stripped: \(reparsed.diagnostics)")
        }
    }

    static func isAssert(_ statement: Statement) -> Bool {
        if case .assert = statement.kind { return true }
        return false
    }
}
