import XCTest
@testable import BpftraceSyntax

/// Parse throughput must scale linearly: a large input made of many tool scripts is parsed
/// at a rate close to that of a small one (no quadratic string handling).
final class ThroughputTests: XCTestCase {
    private func bytesPerSecond(_ text: String, repetitions: Int) -> Double {
        let started = Date()
        for _ in 0..<repetitions {
            let result = Parser.parse(source: text, file: "bench.bt")
            XCTAssertFalse(result.hasErrors)
        }
        let elapsed = max(Date().timeIntervalSince(started), 1e-6)
        return Double(text.utf8.count * repetitions) / elapsed
    }

    func testParseThroughputIsLinear() throws {
        let scripts = try ToolScriptTests.toolScripts()
        // Preamble (#include, struct) must come first, so keep only probe text for the big input.
        let probesOnly = scripts.compactMap { script -> String? in
            guard let program = Parser.parse(source: script.text, file: script.name).program else { return nil }
            var p = program
            p.preamble = []
            p.shebang = nil
            return Printer.print(p)
        }.joined(separator: "\n")
        // Best of several runs: other processes share the machine, and a slow outlier says
        // nothing about the algorithm.
        let small = (0..<3).map { _ in bytesPerSecond(probesOnly, repetitions: 7) }.max() ?? 0
        let big = String(repeating: probesOnly + "\n", count: 20)
        let large = (0..<3).map { _ in bytesPerSecond(big, repetitions: 1) }.max() ?? 0
        print("throughput: small input \(Int(small / 1024)) KiB/s, large input (\(big.utf8.count / 1024) KiB) \(Int(large / 1024)) KiB/s")
        XCTAssertGreaterThan(large, small / 3, "throughput dropped on a larger input: quadratic behaviour?")
    }
}
