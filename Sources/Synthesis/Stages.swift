import KenProto

/// The stages of one synthesis attempt, as the loop sees them.
///
/// The loop owns the order, the feedback and the timing; each stage is a small protocol so the
/// loop never reaches into the LLM client, the front end, the solver or the agent socket, and so
/// kend can wire real ones (KendCore) while ken-eval wires ablations (no feedback, no symbolic
/// verification) from the same parts.

/// One message of a chat-style prompt.
public struct PromptMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// Where a candidate came from.
public enum CandidateOrigin: Sendable, Equatable {
    /// An LLM reply, with the model that wrote it.
    case llm(model: String)
    /// The offline library synthesizer: the closest example, and how close it is (0...1).
    case library(exampleID: String, similarity: Double)
    /// A program given with the request (a fleet manifest's pinned program): checked, never
    /// rewritten.
    case pinned(label: String)
}

/// A candidate program proposed by a source, with what it cost.
public struct Proposal: Sendable, Equatable {
    public var program: String
    public var origin: CandidateOrigin
    public var promptTokens: Int
    public var completionTokens: Int
    public var latencySeconds: Double
    public init(program: String, origin: CandidateOrigin, promptTokens: Int = 0,
                completionTokens: Int = 0, latencySeconds: Double = 0) {
        self.program = program
        self.origin = origin
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.latencySeconds = latencySeconds
    }
}

/// A failure of a stage that the next attempt should hear about.
public struct StageFailure: Error, Sendable, Equatable {
    public var stage: Ken_V1_Stage
    /// What goes into the next prompt, verbatim (diagnostics with location, counterexamples, logs).
    public var feedback: String
    public var diagnostics: [Ken_V1_Diagnostic]
    public init(stage: Ken_V1_Stage, feedback: String, diagnostics: [Ken_V1_Diagnostic] = []) {
        self.stage = stage
        self.feedback = feedback
        self.diagnostics = diagnostics
    }
}

/// Writes candidates: an LLM, or the example library when no LLM is configured.
public protocol CandidateSource: Sendable {
    /// A short description for reports ("llm gpt-4o at http://…/v1", "library").
    var description: String { get }
    /// Proposes a program for the prompt on attempt `attempt` (1-based) of a task. Throws
    /// `StageFailure` (stage LLM) when the reply holds no program, or any other error when the
    /// source is unreachable. One source serves many tasks at once, so it keeps no per-task state.
    func propose(messages: [PromptMessage], request: SynthesisRequest, attempt: Int) async throws -> Proposal
}

/// The front end: parse, resolve against this kernel, and lower to the installed dialect.
public protocol ProgramChecker: Sendable {
    /// The program as it will be run (lowered, canonical), or a failure with diagnostics.
    func check(program: String, file: String) async -> Result<CheckedProgram, StageFailure>
}

public struct CheckedProgram: Sendable, Equatable {
    /// The canonical program text (what the agent will be sent).
    public var program: String
    /// Probes it attaches to, as written after wildcard expansion where known.
    public var probes: [String]
    /// Warnings that do not stop the loop.
    public var warnings: [Ken_V1_Diagnostic]
    public init(program: String, probes: [String], warnings: [Ken_V1_Diagnostic] = []) {
        self.program = program
        self.probes = probes
        self.warnings = warnings
    }
}

/// The Comprehension Engine: adds assume/assert annotations from contracts and the prompt.
public protocol ProgramAnnotator: Sendable {
    func annotate(program: CheckedProgram, prompt: String) async -> Result<AnnotatedProgram, StageFailure>
}

public struct AnnotatedProgram: Sendable, Equatable {
    public var text: String
    /// Notes about annotations that were dropped or regenerated, never silently.
    public var notes: [String]
    /// Ken's own checks (a `__be16` printed without a swap, a user pointer dereferenced): fed
    /// back like errors, since the prompt may or may not want what the program does.
    public var warnings: [Ken_V1_Diagnostic]
    /// Who claimed each assert, by its position in `text` ("LINE:COLUMN"). An assert not listed
    /// was claimed by no one known and cannot make the program proven.
    public var claims: [String: Ken_V1_ClaimedBy]
    public init(text: String, notes: [String] = [], warnings: [Ken_V1_Diagnostic] = [],
                claims: [String: Ken_V1_ClaimedBy] = [:]) {
        self.text = text
        self.notes = notes
        self.warnings = warnings
        self.claims = claims
    }

    /// The key of `claims` for a position.
    public static func claimKey(line: Int, column: Int) -> String { "\(line):\(column)" }
}

/// The Symbolic Verifier.
public protocol ProgramProver: Sendable {
    func prove(annotated: AnnotatedProgram, file: String) async -> ProofOutcome
}

public struct ProofOutcome: Sendable, Equatable {
    public var verdict: Ken_V1_Verdict
    public var asserts: [Ken_V1_AssertVerdict]
    /// Vacuity and other warnings.
    public var warnings: [String]
    /// The counterexample or reason, as it goes into the next prompt.
    public var feedback: String
    /// Why the prover could not check the program at all (it did not parse or resolve): the
    /// outcome is UNKNOWN with this reason, never a silent pass.
    public var couldNotCheck: String?
    public init(verdict: Ken_V1_Verdict, asserts: [Ken_V1_AssertVerdict], warnings: [String], feedback: String,
                couldNotCheck: String? = nil) {
        self.verdict = verdict
        self.asserts = asserts
        self.warnings = warnings
        self.feedback = feedback
        self.couldNotCheck = couldNotCheck
    }
}

/// The kernel: ken-agent's VerifyOnly or Attach.
public protocol KernelGate: Sendable {
    /// `.failure` when the kernel (or bpftrace) rejected the program: feedback for the next
    /// attempt. Throws when the agent could not judge it at all (unreachable, permission
    /// denied): no later attempt would fare better, so the task stops with that error.
    func submit(_ submission: KernelSubmission) async throws -> Result<Ken_V1_Extension?, StageFailure>
}

public struct KernelSubmission: Sendable, Equatable {
    public var program: String
    public var annotated: String
    public var prompt: String
    public var name: String
    /// Attach (true) or only load through the verifier and unload (false).
    public var attach: Bool
    /// What was established before the kernel saw it, recorded with the extension.
    public var verdict: ProgramVerdict
    public init(program: String, annotated: String, prompt: String, name: String, attach: Bool,
                verdict: ProgramVerdict = .checked("no verdict was given")) {
        self.program = program
        self.annotated = annotated
        self.prompt = prompt
        self.name = name
        self.attach = attach
        self.verdict = verdict
    }
}
