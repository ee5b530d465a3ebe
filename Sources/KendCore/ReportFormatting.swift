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

    /// The final report for a person.
    public static func text(_ report: Ken_V1_SynthesisReport) -> String {
        var lines: [String] = []
        let verdict: String
        if report.verified && report.attached {
            verdict = "verified and attached"
        } else if report.verified {
            verdict = "verified"
        } else {
            verdict = "NOT verified"
        }
        var header = "task \(report.taskID): \(verdict) after \(report.attempts.count) attempt(s)"
        if !report.source.isEmpty { header += " (source: \(report.source))" }
        lines.append(header)
        if !report.note.isEmpty { lines.append("note: \(report.note)") }
        if report.attached {
            lines.append("extension: \(report.extension.id) name=\(report.extension.name) prog_ids=\(report.extension.progIds.map(String.init).joined(separator: ","))")
        }
        if !report.program.isEmpty {
            lines.append(report.verified ? "program:" : "best candidate:")
            lines.append(indent(report.program))
        }
        if !report.annotatedProgram.isEmpty, report.annotatedProgram != report.program {
            lines.append(report.verdicts.isEmpty ? "annotations (assumes only: no assert was proven):"
                                                 : "proved against these annotations:")
            lines.append(indent(report.annotatedProgram))
        }
        for assertion in report.verdicts {
            var line = "  \(assertion.file):\(assertion.line):\(assertion.column): \(verdictLabel(assertion.verdict)) \(assertion.text)"
            if !assertion.message.isEmpty { line += " — \(assertion.message)" }
            lines.append(line)
            for value in assertion.model { lines.append("      \(value.name) = \(value.value)") }
        }
        if !report.verified {
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

    public static func json(_ report: Ken_V1_SynthesisReport) -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return (try? report.jsonString(options: options)) ?? "{}"
    }

    static func verdictLabel(_ verdict: Ken_V1_Verdict) -> String {
        switch verdict {
        case .verified: "VERIFIED"
        case .violated: "VIOLATED"
        case .unknown: "UNKNOWN"
        default: "UNSPECIFIED"
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}
