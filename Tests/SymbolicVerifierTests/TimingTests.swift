import BpftraceSyntax
import SymbolicVerifier
import Z3
import XCTest

/// How long verification of small annotated programs takes (the issue's target: p95 < 20 ms).
final class TimingTests: XCTestCase {
    static let programs: [String] = [
        probe("$x = (uint8)args->a; $y = $x + 1; assert($y <= 256);"),
        probe("if (comm == \"sshd\") { @logins[pid] = nsecs; $s = 1; } else { $s = 0; } assert($s == 1 || comm != \"sshd\");"),
        probe("$m = args->a > args->b ? args->a : args->b; assert($m >= args->a && $m >= args->b);"),
        probe("$i = 0; unroll(8) { if (args->a > $i) { $i++; } } assert($i <= 8);"),
        probe("@c[pid % 16] = 2; $v = @c[pid % 16]; assert($v == 2);", predicate: "uid == 0"),
        probe("$r = bswap((uint16)args->port); printf(\"%d\\n\", $r); assert(bswap($r) == (uint16)args->port);"),
        probe("$v = (int32)args->ret; if ($v < 0) { $e = 0 - $v; assert($e > 0 || $v == (int32)0x80000000); }"),
        probe("$i = 0; while ($i < 6) { $i += 2; } assert($i == 6);"),
    ]

    func testVerificationLatency() throws {
        var samples: [Double] = []
        var medians: [String] = []
        // Untyped fields read as uint64: this measures the solver, not the typing rules.
        let verifier = SymbolicVerifier(options: VerificationOptions(untypedFields: .assumeUInt64))
        for (index, source) in Self.programs.enumerated() {
            guard let program = Parser.parse(source: source, file: "t.bt").program else {
                return XCTFail("does not parse: \(source)")
            }
            _ = verifier.verify(program) // warm up
            var own: [Double] = []
            for _ in 0..<5 {
                let started = ContinuousClock.now
                let result = verifier.verify(program)
                let elapsed = ContinuousClock.now - started
                XCTAssertEqual(result.verdict, .verified, result.renderText())
                own.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
            samples += own
            medians.append("#\(index) \(String(format: "%.1f", own.sorted()[own.count / 2]))")
        }
        samples.sort()
        let p50 = samples[samples.count / 2]
        let p95 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.95))]
        print("verification latency over \(samples.count) runs of \(Self.programs.count) programs: "
              + "p50 \(String(format: "%.2f", p50)) ms, p95 \(String(format: "%.2f", p95)) ms, "
              + "max \(String(format: "%.2f", samples.last ?? 0)) ms; medians (ms): "
              + medians.joined(separator: ", "))
        // The target is p95 < 20 ms (measured ~15 ms on this 2-core VM while other builds ran);
        // the assertion only catches pathological regressions, since a shared CI machine under
        // load can slow any single run several-fold.
        XCTAssertLessThan(p95, 500, "p95 \(p95) ms")
    }
}

extension TimingTests {
    /// Context creation is a fixed cost of every verification; keep it visible.
    func testContextCreationCost() throws {
        var samples: [Double] = []
        for _ in 0..<10 {
            let started = ContinuousClock.now
            _ = try Z3Context()
            let elapsed = ContinuousClock.now - started
            samples.append(Double(elapsed.components.attoseconds) / 1e15)
        }
        samples.sort()
        print("Z3 context creation: p50 \(String(format: "%.2f", samples[5])) ms")
    }
}

extension TimingTests {
    private func residentKilobytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4 : 0
    }

    /// Every Z3 object is reference counted and released with its Swift owner: hundreds of
    /// verifications must not grow the process.
    func testRepeatedVerificationDoesNotLeak() throws {
        guard residentKilobytes() > 0 else { throw XCTSkip("/proc/self/statm is not readable") }
        guard let program = Parser.parse(source: Self.programs[1], file: "t.bt").program else {
            return XCTFail("does not parse")
        }
        for _ in 0..<50 { _ = SymbolicVerifier().verify(program) }
        let before = residentKilobytes()
        for _ in 0..<300 { _ = SymbolicVerifier().verify(program) }
        let growth = residentKilobytes() - before
        print("resident memory growth over 300 verifications: \(growth) KiB")
        XCTAssertLessThan(growth, 8 * 1024)
    }
}
