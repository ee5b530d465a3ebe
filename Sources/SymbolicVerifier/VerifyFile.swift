import BpftraceSyntax

/// The `kenc verify` behaviour as a library call, so it is testable without a terminal:
/// parse, verify, render, and choose the exit status.
public enum VerifyFile {
    /// What `kenc verify` prints and the status it exits with: 0 VERIFIED, 1 VIOLATED,
    /// 2 UNKNOWN, 3 the program does not parse or resolve.
    public struct Outcome: Sendable {
        public var output: String
        public var exitCode: Int32
        /// Nil when the program did not get as far as verification.
        public var result: VerificationResult?
    }

    /// Front-end failure exit status.
    public static let frontEndFailure: Int32 = 3

    /// Verifies `source`. `resolve` fills in types (BpftraceSemantics' resolver); it returns the
    /// typed program or the diagnostics that stop verification. Without it, bpftrace's default
    /// types are used and the result says so in its notes.
    public static func run(source: String, file: String, prompt: String? = nil,
                           options: VerificationOptions = VerificationOptions(), json: Bool = false,
                           resolve: ((Program) -> Result<Program, ResolveFailure>)? = nil) -> Outcome {
        let parsed = Parser.parse(source: source, file: file)
        guard let program = parsed.program else {
            let errors = parsed.diagnostics.filter { $0.severity == .error }
            return Outcome(output: Diagnostic.render(errors, source: source), exitCode: frontEndFailure, result: nil)
        }
        var typed = program
        if let resolve {
            switch resolve(program) {
            case let .success(resolved): typed = resolved
            case let .failure(failure):
                return Outcome(output: Diagnostic.render(failure.diagnostics, source: source),
                               exitCode: frontEndFailure, result: nil)
            }
        }
        let result = SymbolicVerifier(options: options).verify(typed, prompt: prompt)
        var output = result.renderText()
        if json {
            do {
                output = try result.jsonString()
            } catch {
                output = "{\"error\": \"could not encode the result\"}"
            }
        }
        return Outcome(output: output, exitCode: result.exitCode, result: result)
    }
}

/// The diagnostics with which resolution refused a program.
public struct ResolveFailure: Error, Sendable {
    public var diagnostics: [Diagnostic]

    public init(diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }
}
