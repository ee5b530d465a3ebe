import Foundation

/// How a run is shown: a table for people, JSON lines for scripts and later comparison.
public enum EvalReport {
    /// One JSON object per line: every trial, then `{"summary": …}`.
    public static func jsonLines(_ results: [TrialResult], summary: EvalSummary) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var lines: [String] = []
        for result in results {
            if let data = try? encoder.encode(result), let text = String(data: data, encoding: .utf8) { lines.append(text) }
        }
        if let data = try? encoder.encode(["summary": summary]), let text = String(data: data, encoding: .utf8) {
            lines.append(text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One row per trial.
    public static func row(_ result: TrialResult) -> String {
        let id = result.id.count > 28 ? String(result.id.prefix(27)) + "…" : result.id
        return pad(id, 29) + pad("\(result.trial)", 6) + pad(result.verdict.rawValue, 30) + pad("\(result.attempts)", 9)
            + pad(result.behaviour.rawValue, 14) + pad(result.outcome.rawValue, 16)
            + pad(String(format: "%.1f", result.totalSeconds), 8) + "\(result.promptTokens + result.completionTokens)"
    }

    public static var header: String {
        pad("id", 29) + pad("trial", 6) + pad("verdict", 30) + pad("attempts", 9) + pad("behaviour", 14)
            + pad("outcome", 16) + pad("secs", 8) + "tokens"
    }

    /// The summary block printed after the table.
    public static func summaryText(_ summary: EvalSummary) -> String {
        var lines = [
            "mode: \(summary.mode.rawValue) — \(summary.mode.summary)",
            "prompts \(summary.prompts), trials \(summary.trials)",
            "verdicts: passed+attached \(summary.passedAttached), passed-but-kernel-rejected \(summary.kernelRejected), not-passed \(summary.notPassed)",
            "accuracy \(percent(summary.accuracy)) (\(summary.accurate)/\(summary.trials): attached and the behaviour check passed)",
            "false negatives \(percent(summary.falseNegativeRate)) (\(summary.falseNegatives): no program passed every stage)",
            "false positives \(percent(summary.falsePositiveRate)) (\(summary.falsePositives): attached, behaviour check failed)",
            "unchecked \(summary.unchecked) (attached, behaviour not judged: no check or optional trigger)",
            "stopped early \(summary.stopped) (the candidate source or ken-agent failed; among the false negatives)",
            String(format: "mean attempts %.2f, mean %.1f s per trial, tokens %d prompt + %d completion",
                   summary.meanAttempts, summary.meanSeconds, summary.promptTokens, summary.completionTokens),
        ]
        if !summary.stageMeans.isEmpty {
            lines.append("mean seconds per trial by stage: " + summary.stageMeans
                .map { String(format: "%@ %.3f", $0.stage, $0.seconds) }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
