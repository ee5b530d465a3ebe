import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Parses `source` (failing the test on a parse error), fills in the types a resolver would give
/// for the expressions named in `types` (by their printed text), and verifies. Fields left
/// untyped are read as uint64 (these tests are about other rules) unless `untypedFields` says
/// otherwise; `UntypedFieldTests` checks the sound default.
func verify(_ source: String, types: [String: SemanticType] = [:],
            options: VerificationOptions = VerificationOptions(),
            untypedFields: VerificationOptions.UntypedFields = .assumeUInt64,
            file: StaticString = #filePath, line: UInt = #line) throws -> VerificationResult {
    var options = options
    options.untypedFields = untypedFields
    let parsed = Parser.parse(source: source, file: "test.bt")
    guard let program = parsed.program else {
        XCTFail("parse failed: \(Diagnostic.render(parsed.diagnostics, source: source))", file: file, line: line)
        throw XCTSkip("unparsable test program")
    }
    let typed = TreeTransform(expression: { expression in
        var copy = expression
        if copy.type == nil, let type = types[Printer.print(expression)] { copy.type = type }
        return copy
    }).apply(program)
    return SymbolicVerifier(options: options).verify(typed)
}

/// Asserts the verdict of the only (or the `index`th) assert and of the program, printing the
/// rendered result on failure so the reason is visible.
func expect(_ result: VerificationResult, _ verdict: Verdict, assert index: Int = 0,
            file: StaticString = #filePath, line: UInt = #line) {
    guard result.asserts.indices.contains(index) else {
        XCTFail("no assert #\(index):\n\(result.renderText())", file: file, line: line)
        return
    }
    XCTAssertEqual(result.asserts[index].verdict, verdict, result.renderText(), file: file, line: line)
}

/// A tracepoint header so bodies read like real programs.
func probe(_ body: String, predicate: String? = nil) -> String {
    let filter = predicate.map { " /\($0)/" } ?? ""
    return "tracepoint:syscalls:sys_enter_openat\(filter)\n{\n\(body)\n}\n"
}
