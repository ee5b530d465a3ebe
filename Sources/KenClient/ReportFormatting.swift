import Foundation
import KenProto

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

    /// `kenc synth --json`: the whole report. `extension` is null unless it was attached.
    public static func json(_ report: Ken_V1_SynthesisReport) -> JSONValue {
        .object([
            "task_id": .string(report.taskID), "verified": .bool(report.verified), "attached": .bool(report.attached),
            "program": .string(report.program),
            "annotated_program": report.annotatedProgram.isEmpty ? .null : .string(report.annotatedProgram),
            "verdicts": .array(report.verdicts.map(json)),
            "attempts": .array(report.attempts.map(json)),
            "extension": report.attached ? AgentJSON.object(report.extension) : .null,
            "source": report.source.isEmpty ? .null : .string(report.source),
            "similarity": report.source == "library" ? .double(report.similarity) : .null,
            "note": report.note.isEmpty ? .null : .string(report.note),
            "needs_hint": .bool(report.needsHint),
        ])
    }

    /// One assert's verdict, with its counterexample values when violated.
    public static func json(_ verdict: Ken_V1_AssertVerdict) -> JSONValue {
        .object([
            "file": .string(verdict.file), "line": .int(verdict.line), "column": .int(verdict.column),
            "text": .string(verdict.text), "verdict": .string(verdictName(verdict.verdict)),
            "message": verdict.message.isEmpty ? .null : .string(verdict.message),
            "path": verdict.path.isEmpty ? .null : .string(verdict.path),
            "model": .array(verdict.model.map { .object(["name": .string($0.name), "value": .string($0.value)]) }),
        ])
    }

    static func json(_ attempt: Ken_V1_Attempt) -> JSONValue {
        .object([
            "number": .int(attempt.number), "program": .string(attempt.program),
            "errors": .array(attempt.errors.map(json)),
            "timings": .array(attempt.timings.map {
                .object(["stage": .string(stageName($0.stage)), "seconds": .double($0.seconds)])
            }),
            "prompt_tokens": .int(attempt.promptTokens), "completion_tokens": .int(attempt.completionTokens),
        ])
    }

    /// A diagnostic from any stage (front end, verifier, kernel).
    public static func json(_ diagnostic: Ken_V1_Diagnostic) -> JSONValue {
        .object([
            "severity": .string(severityName(diagnostic.severity)),
            "file": diagnostic.file.isEmpty ? .null : .string(diagnostic.file),
            "line": diagnostic.line == 0 ? .null : .int(diagnostic.line),
            "column": diagnostic.column == 0 ? .null : .int(diagnostic.column),
            "message": .string(diagnostic.message),
            "hint": diagnostic.hint.isEmpty ? .null : .string(diagnostic.hint),
            "rendered": diagnostic.rendered.isEmpty ? .null : .string(diagnostic.rendered),
        ])
    }

    /// Lower-case names of the wire enums, as every `--json` document spells them.
    public static func verdictName(_ verdict: Ken_V1_Verdict) -> String {
        switch verdict {
        case .verified: "verified"
        case .violated: "violated"
        case .unknown: "unknown"
        default: "unspecified"
        }
    }

    public static func stageName(_ stage: Ken_V1_Stage) -> String {
        JSONValue.enumWord(stage.displayName.replacingOccurrences(of: " ", with: "_"))
    }

    public static func severityName(_ severity: Ken_V1_Diagnostic.Severity) -> String {
        switch severity {
        case .error: "error"
        case .warning: "warning"
        case .note: "note"
        default: "unknown"
        }
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
