import BpftraceSyntax
import SymbolicVerifier
import XCTest

/// Without kernel types a field's width and signedness are unknown: the verifier reads its
/// 64-bit widening, which decides `==` exactly, and says UNKNOWN (with the reason) wherever
/// the width or signedness could change the outcome.
final class UntypedFieldTests: XCTestCase {
    private func sound(_ body: String, predicate: String? = nil) throws -> VerificationResult {
        try verify(probe(body, predicate: predicate), untypedFields: .unknownWhereTheyMatter)
    }

    private func expectUnknown(_ result: VerificationResult, because parts: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        expect(result, .unknown, file: file, line: line)
        let reason = result.asserts.first?.reason ?? ""
        XCTAssertTrue(parts.allSatisfy(reason.contains), "reason: \(reason)\n\(result.renderText())",
                      file: file, line: line)
    }

    func testOrderingOfAnUntypedFieldIsUnknown() throws {
        // args->ret might be an s64 (negative errors) or a u32: `> 0` depends on which.
        expectUnknown(try sound("assert(args->ret > 0);", predicate: "args->ret != 0"),
                      because: ["the signedness of args->ret is unknown without kernel types", ">"])
        // Through variables, arithmetic and maps too.
        expectUnknown(try sound("$n = args->count + 1; assert($n >= 1);"), because: ["args->count"])
        expectUnknown(try sound("@last = args->fd; assert(@last < 100 || @last >= 100);"), because: ["args->fd"])
        // Typed by a cast, the comparison is decided.
        expect(try sound("$n = (uint32)args->count; assert($n <= 0xffffffff);"), .verified)
    }

    func testWidthOfAnUntypedFieldIsUnknown() throws {
        expectUnknown(try sound("$x = ~args->flags; assert($x != 0 || args->flags != 0);"),
                      because: ["the width of args->flags", "unary ~"])
        expectUnknown(try sound("$p = bswap(args->port); assert(bswap($p) == args->port);"),
                      because: ["the width of args->port", "bswap()"])
        // A u8 field's variable wraps at 256; read as 64 bits it would not.
        expectUnknown(try sound("$v = args->flags; $v = $v + 1; assert($v != 0);"),
                      because: ["the width of $v is that of args->flags"])
    }

    func testEqualityOfAnUntypedFieldIsDecided() throws {
        // == on the widened value is exact whatever the type: both verdicts stand.
        expect(try sound("assert(args->fd == 3);", predicate: "args->fd == 3"), .verified)
        let result = try sound("assert(args->fd == 3);", predicate: "args->fd != 4")
        expect(result, .violated)
        XCTAssertTrue(result.notes.contains { $0.contains("type of args->fd unknown") }, result.renderText())
    }
}
