/// What `Parser.parse` returns: a tree when the source parsed without errors, and all
/// diagnostics (warnings included) in source order.
public struct ParseResult: Sendable {
    /// The tree, or nil when any error diagnostic was produced.
    public var program: Program? { hasErrors ? nil : partialProgram }
    /// The tree built with error recovery; failed expressions appear as `.error` nodes and
    /// failed statements/probes are skipped. Useful for tooling on broken programs.
    public var partialProgram: Program
    public var diagnostics: [Diagnostic]

    public init(partialProgram: Program, diagnostics: [Diagnostic]) {
        self.partialProgram = partialProgram
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}
