import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import SymbolicVerifier

/// Symbolic verification time per annotated program: the annotated corpus
/// (`corpus/annotated/*.bt`, programs with assume/assert written from their prompts).
public enum VerifierBench {
    public static func run(kernel: KernelInfo, corpus: URL, rounds: Int) -> [Row] {
        let directory = corpus.deletingLastPathComponent().appendingPathComponent("annotated")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".bt") }.sorted()
        var samples = Samples()
        var verdicts: [String: Int] = [:]
        var skipped: [String] = []
        let verifier = SymbolicVerifier()
        for name in files {
            guard let text = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else { continue }
            guard case .success(let program) = VerificationFrontEnd.prepare(source: text, file: name, kernel: kernel) else {
                skipped.append(name)
                continue
            }
            for round in 0..<max(1, rounds) {
                let clock = ContinuousClock()
                let start = clock.now
                let result = verifier.verify(program)
                samples.add(milliseconds(clock.now - start))
                if round == 0 { verdicts[result.verdict.rawValue, default: 0] += 1 }
            }
        }
        guard samples.count > 0 else {
            return [Row(section: "verifier", metric: "verify, per annotated program", samples: 0, unit: "ms",
                        note: "no annotated programs found in \(directory.path)")]
        }
        let summary = verdicts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return [samples.row("verifier", "verify, per annotated program", target: "p95 < 20 ms",
                            note: "\(files.count - skipped.count) programs × \(max(1, rounds)) rounds; \(summary)"
                                + (skipped.isEmpty ? "" : "; did not resolve here: \(skipped.joined(separator: ", "))"))]
    }
}
