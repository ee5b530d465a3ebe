extension VerificationResult {
    /// One line per assert, `FILE:LINE:COL: VERDICT assert(...)`, followed for a violation by its
    /// path and model and for UNKNOWN by its reason; then warnings and a summary line. Stable,
    /// because it is fed back to the synthesizer verbatim.
    public func renderText() -> String {
        var lines: [String] = []
        if let prompt { lines.append("prompt: \(prompt)") }
        for result in asserts {
            lines.append("\(result.position): \(result.verdict.rawValue) \(result.text)")
            if let reason = result.reason {
                lines.append("  reason: \(reason)")
            }
            if let counterexample = result.counterexample {
                if counterexample.path.isEmpty {
                    lines.append("  path: (no branches)")
                } else {
                    lines.append("  path:")
                    for step in counterexample.path {
                        let outcome = step.taken ? "true" : "false"
                        lines.append("    \(step.position): \(step.construct) \(step.condition) is \(outcome)")
                    }
                }
                lines.append("  model:")
                for value in counterexample.values {
                    lines.append("    \(value.name) = \(value.value)")
                }
                if !counterexample.interleaving.isEmpty {
                    lines.append("  interleaving:")
                    for event in counterexample.interleaving { lines.append("    \(event)") }
                }
            }
        }
        for warning in warnings {
            let prefix = warning.position.map { "\($0): " } ?? ""
            lines.append("\(prefix)warning: \(warning.message)")
            if let hint = warning.hint { lines.append("  hint: \(hint)") }
        }
        for note in notes {
            lines.append("note: \(note)")
        }
        let verified = asserts.filter { $0.verdict == .verified }.count
        let violated = asserts.filter { $0.verdict == .violated }.count
        let unknown = asserts.filter { $0.verdict == .unknown }.count
        let total = (timings.totalMilliseconds * 10).rounded() / 10
        lines.append("result: \(verdict.rawValue) (\(verified) verified, \(violated) violated, \(unknown) unknown; "
                     + "\(timings.queries) queries, \(total) ms)")
        return lines.joined(separator: "\n")
    }
}
