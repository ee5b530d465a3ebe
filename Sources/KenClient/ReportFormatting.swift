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
        if report.origin != .unspecified { header += " (source: \(report.origin.name))" }
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

    /// `kenc synth --json`: the whole report. `extension` is null unless it was attached.
    public static func json(_ report: Ken_V1_SynthesisReport) -> JSONValue {
        .object([
            "task_id": .string(report.taskID), "passed": .bool(report.passed), "attached": .bool(report.attached),
            "verdict": report.passed ? .string(extensionVerdictName(report.verdict)) : .null,
            "proven_asserts": .array(report.provenAsserts.map(json)),
            "unproven_reason": report.unprovenReason.isEmpty ? .null : .string(report.unprovenReason),
            "program": .string(report.program),
            "annotated_program": report.annotatedProgram.isEmpty ? .null : .string(report.annotatedProgram),
            "verdicts": .array(report.verdicts.map(json)),
            "attempts": .array(report.attempts.map(json)),
            "extension": report.attached ? AgentJSON.object(report.extension) : .null,
            "source": report.origin == .unspecified ? .null : .string(report.origin.name),
            "similarity": report.origin == .library ? .double(report.similarity) : .null,
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
            "vacuous": .bool(verdict.vacuous), "claimed_by": claimedByName(verdict.claimedBy),
        ])
    }

    /// One non-vacuous proven assert and who claimed it.
    public static func json(_ proven: Ken_V1_ProvenAssert) -> JSONValue {
        .object([
            "text": .string(proven.text), "file": .string(proven.file), "line": .int(proven.line), "column": .int(proven.column),
            "claimed_by": claimedByName(proven.claimedBy), "probe": proven.probe.isEmpty ? .null : .string(proven.probe),
        ])
    }

    /// `proven` or `checked`; `unspecified` when none was recorded (attached by hand).
    public static func extensionVerdictName(_ verdict: Ken_V1_ExtensionVerdict) -> String {
        switch verdict {
        case .proven: "proven"
        case .checked: "checked"
        default: "unspecified"
        }
    }

    /// `prompt`, `llm`, `contract`, `program`, or null when unknown.
    public static func claimedByName(_ claimedBy: Ken_V1_ClaimedBy) -> JSONValue {
        switch claimedBy {
        case .prompt: .string("prompt")
        case .llm: .string("llm")
        case .contract: .string("contract")
        case .program: .string("program")
        default: .null
        }
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
        case .verified: "proven"
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
