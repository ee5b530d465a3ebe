import Foundation
import KenProto
import SwiftProtobuf
import Synthesis

/// How `kenc synth` shows progress and the final report: terse lines for a terminal, and the
/// report as a JSON document for scripts. Lives here, not in kenc, so tests can check it.
public enum ReportFormatting {
    /// One progress line: `[1/3] symbolic verifier: proving the annotations`.
    public static func progressLine(_ event: Ken_V1_SynthesisEvent, maxAttempts: Int) -> String {
        let stage = event.stage.displayName
        let attempt = maxAttempts > 0 ? "[\(event.attempt)/\(maxAttempts)]" : "[\(event.attempt)]"
        return "\(attempt) \(stage): \(event.message)"
    }

    /// The headline verdict: "proven and attached", "checked (nothing proven), attached", or
    /// "NOT attached". "Verified" is never said: a program is proven or it is only checked.
    public static func headline(_ report: Ken_V1_SynthesisReport) -> String {
        guard report.passed else {
            return report.attempts.isEmpty ? "failed" : "failed, nothing attached"
        }
        let verdict = report.verdict == .proven ? "proven" : "checked (nothing proven)"
        if report.attached { return "\(verdict), attached" }
        return verdict
    }

    /// Who proved what, one line per proven assert: "proven: assert(…) at 3:5, claimed by the prompt".
    public static func provenLines(_ report: Ken_V1_SynthesisReport) -> [String] {
        guard report.passed else { return [] }
        if report.verdict != .proven {
            return ["not proven: \(report.unprovenReason.isEmpty ? "no assert tied to the request was proven" : report.unprovenReason)"]
        }
        return report.provenAsserts.map {
            "proven: \($0.text) at line \($0.line):\($0.column), claimed by \($0.claimedBy.displayName)"
        }
    }

    /// The final report for a person.
    public static func text(_ report: Ken_V1_SynthesisReport) -> String {
        var lines: [String] = []
        var header = "task \(report.taskID): \(headline(report)) after \(report.attempts.count) attempt(s)"
        if !report.source.isEmpty { header += " (source: \(report.source))" }
        lines.append(header)
        lines += provenLines(report)
        if !report.note.isEmpty { lines.append("note: \(report.note)") }
        if report.attached {
            lines.append("extension: \(report.extension.id) name=\(report.extension.name) prog_ids=\(report.extension.progIds.map(String.init).joined(separator: ","))")
        }
        if !report.program.isEmpty {
            lines.append(report.passed ? "program:" : "best candidate:")
            lines.append(indent(report.program))
        }
        if !report.annotatedProgram.isEmpty, report.annotatedProgram != report.program {
            lines.append(report.verdict == .proven ? "proven against these annotations:"
                                                   : "annotations (nothing was proven from them):")
            lines.append(indent(report.annotatedProgram))
        }
        for assertion in report.verdicts {
            var line = "  \(assertion.file):\(assertion.line):\(assertion.column): \(verdictLabel(assertion)) \(assertion.text)"
            if assertion.claimedBy != .unspecified { line += " (claimed by \(assertion.claimedBy.displayName))" }
            if !assertion.message.isEmpty { line += " — \(assertion.message)" }
            lines.append(line)
            for value in assertion.model { lines.append("      \(value.name) = \(value.value)") }
        }
        if !report.passed {
            for attempt in report.attempts {
                for error in attempt.errors {
                    let text = error.rendered.isEmpty ? error.message : error.rendered
                    lines.append("attempt \(attempt.number): \(text.replacingOccurrences(of: "\n", with: "\n    "))")
                }
            }
            if report.needsHint {
                lines.append("hint: continue with kenc synth --task \(report.taskID) --hint \"what the model missed\"")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The report as protobuf JSON, with the verdict keys always present: `verdict` (PROVEN,
    /// CHECKED, or null when no program passed), `proven_asserts` and `unproven_reason`.
    public static func json(_ report: Ken_V1_SynthesisReport) -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        guard let text = try? report.jsonString(options: options),
              var document = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return "{}" }
        document["passed"] = report.passed
        document["verdict"] = report.verdict == .unspecified ? NSNull() : document["verdict"] ?? NSNull()
        document["proven_asserts"] = document["proven_asserts"] ?? [Any]()
        document["unproven_reason"] = report.unprovenReason
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A proven assert is PROVEN; one that holds whatever the program does is VACUOUS.
    static func verdictLabel(_ assertion: Ken_V1_AssertVerdict) -> String {
        if assertion.verdict == .verified, assertion.vacuous { return "VACUOUS" }
        return verdictLabel(assertion.verdict)
    }

    static func verdictLabel(_ verdict: Ken_V1_Verdict) -> String {
        switch verdict {
        case .verified: "PROVEN"
        case .violated: "VIOLATED"
        case .unknown: "UNKNOWN"
        default: "UNSPECIFIED"
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}
