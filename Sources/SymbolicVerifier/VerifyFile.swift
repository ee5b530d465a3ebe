import BpftraceSyntax
import KernelInfo

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

    /// Verifies `source`, resolving types against the running kernel when `useKernel` (the
    /// process-wide `KernelInfo.shared()`), else with bpftrace's default types.
    public static func run(source: String, file: String, useKernel: Bool, prompt: String? = nil,
                           options: VerificationOptions = VerificationOptions(), json: Bool = false) -> Outcome {
        run(source: source, file: file, kernel: useKernel ? KernelInfo.shared() : nil, prompt: prompt,
            options: options, json: json)
    }

    /// Verifies `source`, resolving its types against `kernel` (tracefs formats, BTF). With no
    /// kernel, bpftrace's default types are used and the result's notes say where.
    public static func run(source: String, file: String, kernel: KernelInfo?, prompt: String? = nil,
                           options: VerificationOptions = VerificationOptions(), json: Bool = false) -> Outcome {
        let result: VerificationResult
        switch VerificationFrontEnd.prepareResolved(source: source, file: file, kernel: kernel) {
        case let .success((program, resolved)):
            let verifier = SymbolicVerifier(options: options)
            result = resolved.map { verifier.verify($0, prompt: prompt) } ?? verifier.verify(program, prompt: prompt)
        case let .failure(failure):
            return Outcome(output: Diagnostic.render(failure.diagnostics, source: source),
                           exitCode: frontEndFailure, result: nil)
        }
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
