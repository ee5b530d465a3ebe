import BpftraceSyntax
import ExampleStore
import XCTest

/// Every shipped example must be a program Ken's own front end accepts: it parses without
/// errors, prints back to text that parses to the same tree, and its probes are the ones its
/// header declares.
final class CorpusSyntaxTests: XCTestCase {
    func testEveryCorpusProgramParsesAndRoundTripsThroughThePrinter() throws {
        let examples = try Fixtures.corpus()
        for example in examples {
            let result = Parser.parse(source: example.program, file: "\(example.id).bt")
            guard let program = result.program else {
                XCTFail("\(example.id) does not parse:\n" + Diagnostic.render(result.diagnostics, source: example.program))
                continue
            }
            let printed = Printer.print(program)
            let again = Parser.parse(source: printed, file: "\(example.id)-printed.bt")
            XCTAssertEqual(again.diagnostics, [], "\(example.id): printed text does not parse:\n\(printed)")
            XCTAssertTrue(program.isStructurallyEqual(to: again.partialProgram),
                          "\(example.id): printing changed the program:\n\(printed)")
            let attachPoints = Set(program.probes.flatMap(\.attachPoints).map(\.text))
            XCTAssertEqual(attachPoints, Set(example.probes), "\(example.id): declared probes differ from the parsed ones")
        }
    }

    func testInstalledToolsParse() throws {
        let tools = CorpusLoader.installedTools()
        guard !tools.isEmpty else { throw XCTSkip("no bpftrace tools installed") }
        var failures: [String] = []
        for tool in tools where Parser.parse(source: tool.program, file: "\(tool.id).bt").program == nil {
            failures.append(tool.id)
        }
        print("installed tools parsed by BpftraceSyntax: \(tools.count - failures.count)/\(tools.count)")
        XCTAssertEqual(failures, [], "installed tools the parser rejects")
    }
}
