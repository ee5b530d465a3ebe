import KenProto

/// The stages of one synthesis attempt, as the loop sees them.
///
/// The loop owns the order, the feedback and the timing; each stage is a small protocol so the
/// loop never reaches into the LLM client, the front end, the solver or the agent socket, and so
/// one assembly (the `Pipeline` module) wires the real ones for kend, ken-eval and ken-bench.
///
/// One value travels through the stages: the front end parses and resolves the candidate once
/// and hands on a `Candidate`, holding the program printed once (what the agent and the user
/// see) and a typed payload (`Typed`: the parsed program, its annotations and the verifier's
/// result). Synthesis does not know what `Typed` is: it stays free of the bpftrace front end and
/// of Z3, and the payload's type is checked by the compiler where stages are wired, not cast.

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

/// A candidate that passed the front end, on its way to the kernel.
///
/// The text fields are printed once, by the stage that made them; `typed` carries the parsed
/// program and what later stages learned about it, so no stage parses or proves again what an
/// earlier one already did.
public struct Candidate<Typed: Sendable>: Sendable {
    /// The canonical program text, in the installed bpftrace's dialect: what the agent is sent
    /// (it re-parses by design) and what the user is shown.
    public var program: String
    /// Probes it attaches to, as written after wildcard expansion where known.
    public var probes: [String]
    /// Front-end warnings that do not stop the loop.
    public var warnings: [Ken_V1_Diagnostic]
    /// Set by the Comprehension stage: the program with its assume/assert annotations.
    public var annotated: AnnotatedProgram?
    /// The stages' own representation: parsed, resolved, annotated, verified.
    public var typed: Typed

    public init(program: String, probes: [String], warnings: [Ken_V1_Diagnostic] = [],
                annotated: AnnotatedProgram? = nil, typed: Typed) {
        self.program = program
        self.probes = probes
        self.warnings = warnings
        self.annotated = annotated
        self.typed = typed
    }

    /// The program with its annotations, or as written when no annotator ran.
    public var annotatedText: String { annotated?.text ?? program }
}

/// What Comprehension added to a candidate, as text.
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

/// The front end: parse, resolve against this kernel, and lower to the installed dialect.
public protocol CandidateFrontEnd<Typed>: Sendable {
    associatedtype Typed: Sendable
    /// The candidate as it will be run (lowered, canonical, typed), or a failure with diagnostics.
    func check(program: String, file: String) async -> Result<Candidate<Typed>, StageFailure>
}

/// The Comprehension Engine: adds assume/assert annotations from contracts and the prompt.
public protocol CandidateAnnotator<Typed>: Sendable {
    associatedtype Typed: Sendable
    /// The candidate with `annotated` set (and its typed payload extended), or a failure.
    func annotate(_ candidate: Candidate<Typed>, prompt: String) async -> Result<Candidate<Typed>, StageFailure>
}

/// The Symbolic Verifier.
public protocol CandidateProver<Typed>: Sendable {
    associatedtype Typed: Sendable
    /// Proves the candidate's asserts (its annotated form when it has one). A prover may reuse a
    /// result an earlier stage left in the payload for exactly this program.
    func prove(_ candidate: Candidate<Typed>, file: String) async -> ProofOutcome
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

/// What the agent is sent: text, since the agent trusts no client and re-parses everything.
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
