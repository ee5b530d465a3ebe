import Foundation
import XCTest
@testable import BpftraceSyntax

/// Parses `source`, failing the test (with rendered diagnostics) if it does not parse.
func parseOK(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Program {
    let result = Parser.parse(source: source, file: "test.bt")
    XCTAssertEqual(result.diagnostics, [], Diagnostic.render(result.diagnostics, source: source), file: file, line: line)
    return result.partialProgram
}

/// The statements of the first probe of `source`.
func statements(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> [StatementKind] {
    let program = parseOK(source, file: file, line: line)
    return program.probes.first?.body.statements.map(\.kind) ?? []
}

/// Parses one expression and returns it with locations erased.
func expr(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Expr {
    let (e, diagnostics) = Parser.parseExpression(source: source, file: "expr")
    XCTAssertEqual(diagnostics, [], Diagnostic.render(diagnostics, source: source), file: file, line: line)
    return (e ?? Expr(.error)).transformed { var c = $0; c.range = .unknown; return c }
}

/// Asserts print → parse gives an equal tree and printing is a fixed point; returns the print.
@discardableResult
func assertRoundTrip(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let program = parseOK(source, file: file, line: line)
    let printed = Printer.print(program)
    let again = Parser.parse(source: printed, file: "printed.bt")
    XCTAssertEqual(again.diagnostics, [], "printed:\n\(printed)\n" + Diagnostic.render(again.diagnostics, source: printed),
                   file: file, line: line)
    XCTAssertTrue(program.isStructurallyEqual(to: again.partialProgram), "round trip changed the tree:\n\(printed)",
                  file: file, line: line)
    XCTAssertEqual(Printer.print(again.partialProgram), printed, file: file, line: line)
    return printed
}

func e(_ kind: ExpressionKind) -> Expr { Expr(kind) }
func int(_ v: UInt64) -> Expr { Expr(.integer(IntegerLiteral(v))) }
func v(_ name: String) -> Expr { Expr(.variable(name)) }

/// Runs the installed bpftrace in dry-run debug mode (`-d`: prints the AST and exits without
/// attaching anything) so tests can check that real bpftrace accepts printed programs.
enum RealBpftrace {
    static func executable() -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
            let path = dir + "/bpftrace"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func requireAvailable() throws -> String {
        guard let path = executable() else { throw XCTSkip("bpftrace is not installed") }
        guard getuid() == 0 else { throw XCTSkip("bpftrace -d needs root") }
        return path
    }

    /// Combined stdout+stderr of `bpftrace -d FILE`.
    static func dryRun(_ program: String) throws -> String {
        let path = try requireAvailable()
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("ken-syntax-\(UUID().uuidString).bt")
        try program.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-d", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func parserAccepted(_ output: String) -> Bool { output.contains("AST after: parser") }
    static func semanticAccepted(_ output: String) -> Bool { output.contains("AST after: Semantic") }
}
