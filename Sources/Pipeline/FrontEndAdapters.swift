import BpftraceSemantics
import BpftraceSyntax
import KenProto
import KernelInfo
import Synthesis
import SymbolicVerifier

/// The front-end stage: parse, resolve against this kernel, print in the installed dialect.
///
/// What the dialect can't express (a feature newer than the installed bpftrace) is an error
/// with the version it needs, fed back like any other; what can be lowered is lowered here so
/// the model is never asked to fix a spelling Ken can fix itself. The printed program is parsed
/// once more, here, so the tree the later stages share points at the text everyone is shown.
public struct FrontEndChecker: CandidateFrontEnd {
    public let kernel: KernelInfo?
    public let dialect: BpftraceDialect

    public init(kernel: KernelInfo?, dialect: BpftraceDialect) {
        self.kernel = kernel
        self.dialect = dialect
    }

    public func check(program: String, file: String) async -> Result<KernelCandidate, StageFailure> {
        let result = Checker.check(source: program, file: file, kernel: kernel)
        let errors = result.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            let stage: Ken_V1_Stage = result.resolved == nil ? .parse : .resolve
            return .failure(Self.failure(stage: stage, errors, source: program))
        }
        guard let tree = result.resolved?.program ?? Parser.parse(source: program, file: file).program else {
            return .failure(StageFailure(stage: .parse, feedback: "\(file): the program could not be parsed"))
        }
        let printed = Printer.print(tree, dialect: dialect)
        let lowering = printed.diagnostics.filter { $0.severity == .error }
        if !lowering.isEmpty {
            return .failure(Self.failure(stage: .resolve, lowering, source: program))
        }
        guard let canonical = Parser.parse(source: printed.text, file: file).program else {
            return .failure(StageFailure(stage: .parse, feedback: "\(file): the program as printed for bpftrace \(dialect.version) does not parse"))
        }
        let probes = tree.probes.flatMap { $0.attachPoints.map(\.text) }
        let warnings = (result.diagnostics + printed.diagnostics).filter { $0.severity != .error }
            .map { Self.proto($0, source: program) }
        // The kernel facts of the printed program, for Ken's checks in Comprehension: resolved
        // once more because the first resolution's ranges point at the proposal's text.
        let resolved = kernel.map { Resolver(kernel: $0).resolve(canonical) }
        return .success(KernelCandidate(program: printed.text, probes: probes, warnings: warnings,
                                        typed: TypedProgram(file: file, tree: canonical, resolved: resolved)))
    }

    static func failure(stage: Ken_V1_Stage, _ diagnostics: [Diagnostic], source: String) -> StageFailure {
        let rendered = diagnostics.map { $0.render(source: source) }.joined(separator: "\n")
        return StageFailure(stage: stage, feedback: rendered, diagnostics: diagnostics.map { proto($0, source: source) })
    }

    /// A front-end diagnostic on the wire.
    public static func proto(_ diagnostic: Diagnostic, source: String?) -> Ken_V1_Diagnostic {
        var out = Ken_V1_Diagnostic()
        switch diagnostic.severity {
        case .error: out.severity = .error
        case .warning: out.severity = .warning
        case .note: out.severity = .note
        }
        out.file = diagnostic.range.start.file
        out.line = UInt32(clamping: diagnostic.range.start.line)
        out.column = UInt32(clamping: diagnostic.range.start.column)
        out.message = diagnostic.message
        out.hint = diagnostic.hint ?? ""
        out.rendered = diagnostic.render(source: source)
        return out
    }
}

/// The Symbolic Verifier stage: the verdicts on the candidate's annotated program.
///
/// Comprehension already verified the annotated program it built (to find vacuous
/// annotations), with the same verifier settings the assembly gives this stage: that result is
/// reported as it is. Only a candidate nobody verified yet (no Comprehension: a program with
/// its own annotations, or the tree Comprehension could not resolve) is resolved and proven here.
public struct VerifierProver: CandidateProver {
    public let kernel: KernelInfo?
    public let options: VerificationOptions

    public init(kernel: KernelInfo?, options: VerificationOptions = VerificationOptions()) {
        self.kernel = kernel
        self.options = options
    }

    public func prove(_ candidate: KernelCandidate, file: String) async -> ProofOutcome {
        if let verification = candidate.typed.verification {
            return Self.outcome(verification)
        }
        let text = candidate.annotatedText
        switch VerificationFrontEnd.prepare(program: candidate.typed.annotatedTree ?? candidate.typed.tree, kernel: kernel) {
        case .failure(let failure):
            let rendered = failure.diagnostics.map { $0.render(source: text) }.joined(separator: "\n")
            return ProofOutcome(verdict: .unknown, asserts: [], warnings: [],
                                feedback: "the annotated program does not parse or resolve:\n\(rendered)",
                                couldNotCheck: "it does not parse or resolve: \(rendered)")
        case .success(let program):
            return Self.outcome(SymbolicVerifier(options: options).verify(program))
        }
    }

    static func outcome(_ result: VerificationResult) -> ProofOutcome {
        let asserts = result.asserts.map { item -> Ken_V1_AssertVerdict in
            var verdict = Ken_V1_AssertVerdict()
            verdict.file = item.position.file
            verdict.line = UInt32(clamping: item.position.line)
            verdict.column = UInt32(clamping: item.position.column)
            verdict.text = item.text
            verdict.verdict = proto(item.verdict)
            verdict.message = item.reason ?? item.message ?? ""
            verdict.vacuous = item.vacuous
            if let counterexample = item.counterexample {
                // The interleaving (another probe's store, a re-read, a full map) is part of the path.
                verdict.path = (counterexample.path.map { "\($0.position) \($0.construct) \($0.condition) \($0.taken ? "taken" : "not taken")" }
                    + counterexample.interleaving).joined(separator: "; ")
                verdict.model = counterexample.values.map { value in
                    Ken_V1_ModelValue.with { $0.name = value.name; $0.value = value.value }
                }
            }
            return verdict
        }
        var warnings = result.warnings.map { warning in
            warning.position.map { "\($0): \(warning.message)" } ?? warning.message
        }
        if result.asserts.isEmpty, warnings.isEmpty {
            warnings.append("no assert annotations: nothing about the program's behaviour was proven")
        }
        return ProofOutcome(verdict: proto(result.verdict), asserts: asserts, warnings: warnings,
                            feedback: result.renderText())
    }

    static func proto(_ verdict: Verdict) -> Ken_V1_Verdict {
        switch verdict {
        case .verified: .verified
        case .violated: .violated
        case .unknown: .unknown
        }
    }
}
