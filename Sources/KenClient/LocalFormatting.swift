import BpftraceSemantics
import BpftraceSyntax
import Foundation

/// `--json` documents of the local checks (`check`, `verify`, `contracts`), in the same style
/// as every other kenc document (see `JSONValue`).
public enum LocalFormatting {
    /// `kenc check --json`: every file with its diagnostics, and the number of errors.
    /// `hint` is null when a diagnostic has none.
    public static func check(_ results: [CheckResult]) -> JSONValue {
        .object([
            "files": .array(results.map { result in
                .object([
                    "file": .string(result.file),
                    "diagnostics": .array(result.diagnostics.map(diagnostic)),
                ])
            }),
            "error_count": .int(results.reduce(0) { $0 + $1.diagnostics.filter { $0.severity == .error }.count }),
        ])
    }

    public static func diagnostic(_ d: Diagnostic) -> JSONValue {
        .object([
            "severity": .string(d.severity.rawValue), "message": .string(d.message), "hint": .optional(d.hint),
            "line": .int(d.range.start.line), "column": .int(d.range.start.column),
            "end_line": .int(d.range.end.line), "end_column": .int(d.range.end.column),
        ])
    }

    /// The enumeration members of the verifier's results and of kernel contracts, lower-cased
    /// in their documents.
    public static let enumKeys: Set<String> = ["verdict", "kind", "address_space", "nullability", "byte_order", "source"]

    /// `kenc verify --json`: the verifier's result (any Encodable form of it), in kenc's style.
    public static func verification<T: Encodable>(_ result: T) -> JSONValue {
        JSONValue(encoding: result, enumKeys: enumKeys)
    }

    /// `kenc contracts --json`: the probe's contract, the records it reaches and the builtin
    /// facts; or, with --search, the matching contracts.
    public static func contracts<T: Encodable>(_ value: T) -> JSONValue {
        JSONValue(encoding: value, enumKeys: enumKeys)
    }
}
