/// Which pipeline a run measures: full Ken, or one of the paper's ablations (§5.2).
public enum EvalMode: String, Sendable, CaseIterable, Codable {
    /// Every stage and both feedback loops: what kend runs.
    case full
    /// One LLM answer, checked by every stage, never fed back: the "LLM only" baseline.
    case singleShot = "single-shot"
    /// Feedback from the front end and the kernel, but no Comprehension Engine and no Symbolic
    /// Verifier: "feedback without symbolic verification".
    case noSymbolic = "no-symbolic"
    /// No synthesis: the dataset's reference programs are attached and checked, which measures
    /// the dataset and the behaviour checks themselves.
    case reference

    public var summary: String {
        switch self {
        case .full: "full Ken (feedback, comprehension, symbolic verification, kernel)"
        case .singleShot: "single-shot: one attempt, no feedback"
        case .noSymbolic: "feedback without comprehension and symbolic verification"
        case .reference: "reference programs (no synthesis)"
        }
    }
}
