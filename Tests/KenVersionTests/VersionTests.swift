import Foundation
import KenVersion
import XCTest

/// The version the programs report is the one the package is built as.
final class VersionTests: XCTestCase {
    func testPackagingVersionMatchesTheCode() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("packaging/VERSION")
        let packaged = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(packaged, KenVersion.current, "bump packaging/VERSION and KenVersion.current together")
        XCTAssertNotNil(KenVersion.current.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression))
    }
}
