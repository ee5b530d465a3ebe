import BpftraceSyntax
import Foundation
import KernelInfo

/// The result of checking one file: parse + resolve diagnostics and, when it resolved, the
/// typed program.
public struct CheckResult: Sendable {
    public var file: String
    public var source: String?
    public var diagnostics: [Diagnostic]
    /// The resolved program; nil when parsing failed, the file was unreadable, or the check
    /// ran in no-kernel mode.
    public var resolved: ResolvedProgram?
    /// `#include`s dropped because BTF gives every type the program uses (`NeedlessIncludes`).
    public var droppedIncludes: [PreambleItem] = []

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// The backend of `kenc check` and `kenc fmt`: everything they do, reachable from tests
/// without a terminal.
public enum Checker {
    /// Parses `source` and, when `kernel` is given, resolves it against that kernel. With
    /// `kernel == nil` (`--no-kernel`) only syntax is checked.
    public static func check(source: String, file: String, kernel: KernelInfo?) -> CheckResult {
        let parsed = Parser.parse(source: source, file: file)
        guard let program = parsed.program, let kernel else {
            return CheckResult(file: file, source: source, diagnostics: parsed.diagnostics, resolved: nil)
        }
        let resolved = Resolver(kernel: kernel).resolve(program)
        let roots = NeedlessIncludes.headerRoots(release: kernel.release)
        switch NeedlessIncludes.analyse(program, resolved: resolved, kernel: kernel,
                                        headerExists: { NeedlessIncludes.installed($0, roots: roots) }) {
        case .unchanged:
            return CheckResult(file: file, source: source, diagnostics: parsed.diagnostics + resolved.diagnostics,
                               resolved: resolved)
        case let .dropped(without, notes):
            return CheckResult(file: file, source: source, diagnostics: parsed.diagnostics + notes + without.diagnostics,
                               resolved: without, droppedIncludes: program.preamble.filter { $0.kind == .include })
        case let .missingHeaders(errors):
            return CheckResult(file: file, source: source, diagnostics: parsed.diagnostics + errors + resolved.diagnostics,
                               resolved: resolved)
        }
    }

    /// Checks files against the running kernel (loaded once per process), or syntax only
    /// when `useKernel` is false. What `kenc check` runs.
    public static func check(paths: [String], useKernel: Bool) -> [CheckResult] {
        let kernel: KernelInfo? = useKernel ? KernelInfo.shared() : nil
        return paths.map { check(path: $0, kernel: kernel) }
    }

    /// Reads and checks `path`; an unreadable file is reported as a diagnostic, not thrown.
    public static func check(path: String, kernel: KernelInfo?) -> CheckResult {
        guard let data = FileManager.default.contents(atPath: path) else {
            let location = SourceLocation(file: path, line: 0, column: 0, offset: 0)
            return CheckResult(file: path, source: nil,
                               diagnostics: [.error("cannot read file", at: SourceRange(start: location, end: location))],
                               resolved: nil)
        }
        return check(source: String(decoding: data, as: UTF8.self), file: path, kernel: kernel)
    }

    /// Compiler-style text: `FILE:LINE:COL: error: …`, the source line, a caret line, and a
    /// `hint:` line when there is one.
    public static func renderText(_ results: [CheckResult]) -> String {
        results.filter { !$0.diagnostics.isEmpty }
            .map { Diagnostic.render($0.diagnostics, source: $0.source) }
            .joined(separator: "\n")
    }

    /// Machine-readable form for editors and kend:
    /// `{"files":[{"file":…,"diagnostics":[{"severity","message","hint","line","column",
    /// "endLine","endColumn"}]}],"errorCount":N}`.
    public static func renderJSON(_ results: [CheckResult]) -> String {
        let report = JSONReport(
            files: results.map { r in
                JSONReport.File(file: r.file, diagnostics: r.diagnostics.map { d in
                    JSONReport.Item(severity: d.severity.rawValue, message: d.message, hint: d.hint,
                                    line: d.range.start.line, column: d.range.start.column,
                                    endLine: d.range.end.line, endColumn: d.range.end.column)
                })
            },
            errorCount: results.reduce(0) { $0 + $1.diagnostics.filter { $0.severity == .error }.count })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(report) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `kenc fmt`: the program re-printed in canonical layout, or the parse diagnostics.
    public static func format(source: String, file: String) -> Result<String, FormatFailure> {
        let parsed = Parser.parse(source: source, file: file)
        guard let program = parsed.program else {
            return .failure(FormatFailure(diagnostics: parsed.diagnostics, source: source))
        }
        return .success(Printer.print(program))
    }

    /// Why a file could not be formatted (it does not parse).
    public struct FormatFailure: Error, Sendable, CustomStringConvertible {
        public var diagnostics: [Diagnostic]
        public var source: String

        public var description: String { Diagnostic.render(diagnostics, source: source) }
    }
}

private struct JSONReport: Codable {
    struct Item: Codable {
        var severity: String
        var message: String
        var hint: String?
        var line: Int
        var column: Int
        var endLine: Int
        var endColumn: Int
    }

    struct File: Codable {
        var file: String
        var diagnostics: [Item]
    }

    var files: [File]
    var errorCount: Int
}
