import TOML
import XCTest

/// Multi-line strings, which fleet manifests use for inline programs.
final class MultiLineStringTests: XCTestCase {
    func testBasicMultiLineKeepsNewlinesAndDecodesEscapes() throws {
        let document = try TOMLParser.parse("""
            program = \"\"\"
            tracepoint:syscalls:sys_enter_openat
            {
              printf("%s\\\\n", str(args->filename));
            }
            \"\"\"
            after = 1
            """)
        XCTAssertEqual(document["program"], .string("tracepoint:syscalls:sys_enter_openat\n{\n  printf(\"%s\\n\", str(args->filename));\n}\n"))
        XCTAssertEqual(document["after"], .integer(1))
    }

    func testLiteralMultiLineIsVerbatim() throws {
        let document = try TOMLParser.parse("p = '''\nno \\escapes \"here\"\n'''\n")
        XCTAssertEqual(document["p"], .string("no \\escapes \"here\"\n"))
    }

    func testLineEndingBackslashJoinsLines() throws {
        let document = try TOMLParser.parse("s = \"\"\"one \\\n     two\"\"\"\n")
        XCTAssertEqual(document["s"], .string("one two"))
    }

    func testQuotesBeforeTheClosingDelimiterBelongToTheString() throws {
        let document = try TOMLParser.parse("s = \"\"\"say \"hi\"\"\"\"\n")
        XCTAssertEqual(document["s"], .string("say \"hi\""))
    }

    func testUnterminatedMultiLineStringNamesTheLineItOpened() {
        XCTAssertThrowsError(try TOMLParser.parse("a = 1\nprogram = \"\"\"\nnever closed\n")) { error in
            XCTAssertEqual((error as? TOMLError)?.line, 2)
            XCTAssertTrue("\(error)".contains("unterminated multi-line string"))
        }
    }
}
