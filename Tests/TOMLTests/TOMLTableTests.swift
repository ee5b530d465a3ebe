import TOML
import XCTest

/// The shared strict reader every configuration file goes through.
final class TOMLTableTests: XCTestCase {
    private enum Colour: String, CaseIterable { case red, green }

    private func table(_ text: String) throws -> TOMLTable {
        try XCTUnwrap(TOMLTable(TOMLParser.parse(text)).tables(expected: "t").first)
    }

    func testReadsEachTypeByKey() throws {
        let t = try table("[t]\ns = \"x\"\nb = true\ni = 7\nf = 0.5\na = [\"u\", 3]\nc = \"green\"")
        XCTAssertEqual(t.name, "t")
        XCTAssertEqual(try t.string("s"), "x")
        XCTAssertEqual(try t.bool("b"), true)
        XCTAssertEqual(try t.integer("i", in: 1...10), 7)
        XCTAssertEqual(try t.number("i", in: 0...10), 7)
        XCTAssertEqual(try t.number("f", in: 0...1), 0.5)
        XCTAssertEqual(try t.strings("a", allowIDs: true), ["u", "3"])
        XCTAssertEqual(try t.choice("c") as Colour?, .green)
        XCTAssertNil(try t.string("missing"))
        XCTAssertNoThrow(try t.only(["s", "b", "i", "f", "a", "c"]))
    }

    func testErrorsNameTheKeyByItsDottedPath() throws {
        let t = try table("[t]\ns = 1\nb = \"yes\"\ni = 70\na = [1]\nc = \"blue\"\nempty = \"\"")
        let cases: [(() throws -> Void, String)] = [
            ({ try t.only(["s"]) }, "unknown key t.a (known: s)"),
            ({ _ = try t.string("s") }, "t.s must be a string, not integer"),
            ({ _ = try t.string("empty", nonEmpty: true) }, "t.empty must be a non-empty string"),
            ({ _ = try t.bool("b") }, "t.b must be true or false"),
            ({ _ = try t.integer("i", in: 1...20) }, "t.i must be an integer between 1 and 20"),
            ({ _ = try t.number("b", in: 0...1) }, "t.b must be a number"),
            ({ _ = try t.strings("a") }, "t.a must hold only strings"),
            ({ _ = try t.strings("s") }, "t.s must be an array"),
            ({ _ = try t.choice("c") as Colour? }, "t.c must be one of \"red\", \"green\", not \"blue\""),
        ]
        for (read, expected) in cases {
            XCTAssertThrowsError(try read(), expected) { XCTAssertEqual("\($0)", expected) }
        }
        XCTAssertThrowsError(try TOMLTable(TOMLParser.parse("x = 1")).tables(expected: "t")) {
            XCTAssertEqual("\($0)", "top-level key x must be a [table] (t)")
        }
    }
}
