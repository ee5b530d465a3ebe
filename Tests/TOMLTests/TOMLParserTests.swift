import TOML
import XCTest

final class TOMLTests: XCTestCase {
    func testParsesTheSubsetKenUses() throws {
        let doc = try TOMLParser.parse("""
            # comment
            top = "x" # trailing comment
            [a]
            s = "tab\\there \\"q\\" \\u00e9"
            lit = 'C:\\path'
            n = -1_000
            h = 0xff
            f = 2.5
            yes = true
            list = [ "one", 'two',
              "three", # comment inside
            ]
            nested = [[1, 2], []]
            inline = { k = 1, "quoted key" = "v" }
            [a.b]
            dotted.key = 3
            """)
        XCTAssertEqual(doc["top"], .string("x"))
        guard case let .table(a)? = doc["a"] else { return XCTFail("no table a") }
        XCTAssertEqual(a["s"], .string("tab\there \"q\" é"))
        XCTAssertEqual(a["lit"], .string("C:\\path"))
        XCTAssertEqual(a["n"], .integer(-1000))
        XCTAssertEqual(a["h"], .integer(255))
        XCTAssertEqual(a["f"], .float(2.5))
        XCTAssertEqual(a["yes"], .boolean(true))
        XCTAssertEqual(a["list"], .array([.string("one"), .string("two"), .string("three")]))
        XCTAssertEqual(a["nested"], .array([.array([.integer(1), .integer(2)]), .array([])]))
        XCTAssertEqual(a["inline"], .table(["k": .integer(1), "quoted key": .string("v")]))
        XCTAssertEqual(a["b"], .table(["dotted": .table(["key": .integer(3)])]))
    }

    func testErrorsNameTheLine() {
        let cases: [(String, Int, String)] = [
            ("a = 1\nb = \"unterminated\n", 2, "unterminated"),
            ("a = 1\na = 2\n", 2, "twice"),
            ("[t]\n[t]\n", 2, "twice"),
            ("\n\nx = bare\n", 3, "quoted"),
            ("x = [1, 2\n", 1, "array"),
            ("x = 1 y\n", 1, "end of line"),
            ("[[arr]]\n", 1, "not supported"),
            ("x = 1979-05-27\n", 1, "dates"),
            ("x = 007\n", 1, "leading zeros"),
            ("x = 1__0\n", 1, "_"),
            ("= 3\n", 1, "key"),
            ("x = \"\\q\"\n", 1, "escape"),
        ]
        for (text, line, fragment) in cases {
            XCTAssertThrowsError(try TOMLParser.parse(text), text) { error in
                guard let e = error as? TOMLError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.line, line, "\(text): \(e)")
                XCTAssertTrue(e.message.contains(fragment), "\(text): \(e)")
            }
        }
    }

    func testRandomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("[]{}=\"'#,.\n \tab01_x-\\u".utf8)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            _ = try? TOMLParser.parse(String(decoding: bytes, as: UTF8.self))
        }
    }
}
