import BpftraceSyntax
import SymbolicVerifier

/// One annotation Ken added to a probe, with where it came from.
public struct Annotation: Sendable, Hashable {
    public enum Origin: String, Sendable, Hashable, Codable {
        /// Derived mechanically from the contracts (conventions, enum ranges, builtin limits).
        case contract
        /// Proposed by the LLM from the user's prompt and the contracts.
        case llm
        /// Derived mechanically from the request's own words (PromptAsserts), no LLM.
        case prompt
    }

    /// Index of the probe in the program.
    public var probeIndex: Int
    /// The probe's attach points as written, e.g. `kfunc:tcp_connect`.
    public var probe: String
    /// An `.assume` or `.assert` statement.
    public var statement: Statement
    public var origin: Origin
    /// Where it goes in the probe body: assumes first, asserts last (pre/post-conditions).
    public var atEnd: Bool

    public init(probeIndex: Int, probe: String, statement: Statement, origin: Origin, atEnd: Bool) {
        self.probeIndex = probeIndex
        self.probe = probe
        self.statement = statement
        self.origin = origin
        self.atEnd = atEnd
    }

    /// `assume(…);` / `assert(…, "…");` as bpftrace text.
    public var text: String { Printer.print(statement).trimmingCharacters(in: .whitespacesAndNewlines) }

    public var isAssert: Bool {
        if case .assert = statement.kind { return true }
        return false
    }
}

/// What the Comprehension Engine produced for one candidate.
public struct ComprehensionResult: Sendable {
    /// The candidate with annotations inserted, as a tree; nil when the candidate did not parse.
    public var annotatedProgram: Program?
    /// The same, printed with BpftraceSyntax's printer (what the verifier and the log see).
    public var annotatedSource: String
    /// Every annotation kept, in program order.
    public var annotations: [Annotation]
    /// What happened on the way: dropped annotations and why, regenerations, skipped checks.
    public var notes: [String]
    /// Ken's own checks (byte order, user pointers): fed back to synthesis like errors.
    public var warnings: [Diagnostic]
    /// The verifier's result on the final annotated program, when it ran.
    public var verification: VerificationResult?
    /// Who claimed each assert of `annotatedSource`, keyed by its position "LINE:COLUMN" (as
    /// the verifier reports it), so a report can say whether a proof is tied to the request.
    public var assertOrigins: [String: Annotation.Origin]
    /// The kept LLM assumes that no kernel contract implies: what a proof rests on beyond the
    /// kernel's own guarantees (LLM assumes a contract contradicts are dropped, with a note).
    public var assumed: [Annotation]

    public init(annotatedProgram: Program?, annotatedSource: String, annotations: [Annotation], notes: [String],
                warnings: [Diagnostic], verification: VerificationResult?,
                assertOrigins: [String: Annotation.Origin] = [:], assumed: [Annotation] = []) {
        self.assumed = assumed
        self.annotatedProgram = annotatedProgram
        self.annotatedSource = annotatedSource
        self.annotations = annotations
        self.notes = notes
        self.warnings = warnings
        self.verification = verification
        self.assertOrigins = assertOrigins
    }
}
