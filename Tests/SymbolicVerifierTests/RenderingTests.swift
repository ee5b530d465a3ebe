import BpftraceSyntax
import Foundation
import SymbolicVerifier
import XCTest

final class RenderingTests: XCTestCase {
    func testTextHasOneLinePerAssertThenModel() throws {
        let result = try verify(probe("$x = args->a; assert($x != 7); assert(args->b == args->b);"))
        let lines = result.renderText().split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("test.bt:3:15: VIOLATED assert($x != 7)"), lines[0])
        XCTAssertTrue(lines.contains("    args->a = 7"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("    $x = 7"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("test.bt:3:32: VERIFIED assert(args->b == args->b)") })
        XCTAssertTrue(lines.last?.hasPrefix("result: VIOLATED") ?? false)
    }

    func testJSONRoundTrips() throws {
        let result = try verify(probe("$x = args->a; assert($x != 7);"))
        let json = try result.jsonString()
        let decoded = try JSONDecoder().decode(VerificationResult.self, from: Data(json.utf8))
        XCTAssertEqual(decoded, result)
        XCTAssertTrue(json.contains("\"verdict\" : \"VIOLATED\""), json)
    }

    func testVerifyFileExitCodes() {
        let verified = VerifyFile.run(source: probe("$x = pid; assert($x == pid);"), file: "a.bt", kernel: nil)
        XCTAssertEqual(verified.exitCode, 0, verified.output)
        let violated = VerifyFile.run(source: probe("assert(pid != 1);"), file: "b.bt", kernel: nil)
        XCTAssertEqual(violated.exitCode, 1, violated.output)
        XCTAssertTrue(violated.output.contains("b.bt:3:1: VIOLATED assert(pid != 1)"), violated.output)
        let unknown = VerifyFile.run(source: probe("assert(1 == 1);"), file: "c.bt", kernel: nil)
        XCTAssertEqual(unknown.exitCode, 2, unknown.output)
        let broken = VerifyFile.run(source: "tracepoint:a:b { $x = ; }", file: "d.bt", kernel: nil)
        XCTAssertEqual(broken.exitCode, 3)
        XCTAssertTrue(broken.output.contains("d.bt:1:"), broken.output)
        XCTAssertNil(broken.result)
        let json = VerifyFile.run(source: probe("assert(pid != 1);"), file: "e.bt", kernel: nil, prompt: "trace opens", json: true)
        XCTAssertTrue(json.output.contains("\"prompt\" : \"trace opens\""), json.output)
    }
}

extension RenderingTests {
    /// Trees built by tools may carry no source ranges; each assert must still stand alone.
    func testAssertsWithoutLocationsAreKeptApart() {
        let holds = Statement(.assert(Expression(.binary(.equal, Expression(.builtin("pid")),
                                                         Expression(.builtin("pid")))), message: nil))
        let fails = Statement(.assert(Expression(.binary(.equal, Expression(.builtin("pid")),
                                                         Expression(.integer(IntegerLiteral(7))))), message: nil))
        let program = Program(probes: [Probe(attachPoints: [AttachPoint(kind: .begin)], body: Block([holds, fails]))])
        let result = SymbolicVerifier().verify(program)
        XCTAssertEqual(result.asserts.map(\.verdict), [.verified, .violated], result.renderText())
    }
}
