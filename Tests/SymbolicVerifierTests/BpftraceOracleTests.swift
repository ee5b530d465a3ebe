import Foundation
import SymbolicVerifier
import XCTest

/// The verifier's integer semantics checked against the installed bpftrace itself: a BEGIN probe
/// prints each expression (in hex, all 64 bits), then the verifier must prove that each
/// expression equals exactly what bpftrace printed.
final class BpftraceOracleTests: XCTestCase {
    /// Expressions whose value bpftrace computes at run time (the zero divisor comes from a map
    /// so no compiler folds the division away).
    static let expressions = [
        "(int64)-8 >> 1",
        "(int32)-8 >> 1",
        "(int64)-7 / 3",
        "(int64)-7 % 5",
        "(uint32)0xffffffff + 1",
        "(int8)0xff + 0",
        "(uint8)0x1ff",
        "(int64)(int16)0x8000",
        "(int32)-1 < 0",
        "(uint32)0xffffffff < 0",
        "(uint64)0xffffffffffffffff * 3",
        "~(uint16)0",
        "-(uint32)1",
        "(uint16)0x1234 ^ 0xff",
        "7 / @z",
        "7 % @z",
        "(int64)-1 > (uint64)5",
        "((int64)-1 == (uint64)0xffffffffffffffff)",
        "(1 ? (uint8)255 : (uint16)3) + 1",
        "$widened",
        "@counter + 1",
        "$s == \"abc\"",
        "$s == \"abcd\"",
        "$s != \"ab\"",
        "strncmp($s, \"abx\", 2)",
        "strncmp($s, \"abx\", 3) == 0",
    ]

    /// Statements run before the printed expressions (and before the asserts).
    static let setup = "  @z = 0;\n  $widened = 5;\n  $widened = (uint8)7;\n  @counter = (uint8)255;\n  $s = \"abc\";\n"

    private func bpftrace() -> String? {
        for path in ["/usr/bin/bpftrace", "/usr/local/bin/bpftrace", "/usr/sbin/bpftrace"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }

    func testIntegerSemanticsMatchBpftrace() throws {
        guard getuid() == 0 else { throw XCTSkip("running bpftrace needs root") }
        guard let bpftrace = bpftrace() else { throw XCTSkip("bpftrace is not installed") }
        let prints = Self.expressions.map { "  printf(\"%lx\\n\", \($0));" }.joined(separator: "\n")
        let script = "BEGIN {\n\(Self.setup)\(prints)\n  clear(@z);\n  clear(@counter);\n  exit();\n}\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bpftrace)
        process.arguments = ["-e", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            throw XCTSkip("bpftrace did not finish within 60 s")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let values = text.split(separator: "\n").map(String.init).filter {
            !$0.isEmpty && $0.allSatisfy(\.isHexDigit)
        }
        guard process.terminationStatus == 0, values.count == Self.expressions.count else {
            throw XCTSkip("bpftrace could not run the probe here (status \(process.terminationStatus)): \(text)")
        }
        let asserts = zip(Self.expressions, values).map { expression, value in
            "  assert((\(expression)) == (uint64)0x\(value), \"\(expression.replacingOccurrences(of: "\"", with: "'"))\");"
        }.joined(separator: "\n")
        let program = "BEGIN {\n\(Self.setup)\(asserts)\n}\n"
        let result = try verify(program)
        for (index, item) in result.asserts.enumerated() {
            XCTAssertEqual(item.verdict, .verified,
                           "\(Self.expressions[index]): bpftrace printed 0x\(values[index])\n\(result.renderText())")
        }
        XCTAssertEqual(result.asserts.count, Self.expressions.count)
    }
}
