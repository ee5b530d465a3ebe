import BpftraceSemantics
import BpftraceSyntax
import Synthesis
import SymbolicVerifier

/// What the stages know about a candidate beyond its text, passed from the front end through
/// Comprehension to the prover so that nothing is parsed or proven twice.
public struct TypedProgram: Sendable {
    /// The file name diagnostics and verdicts point at (`attempt-2.bt`).
    public var file: String
    /// The front end's tree of the printed program (`Candidate.program`): its source ranges
    /// point at the text the user and the model are shown.
    public var tree: Program
    /// The resolver's result on `tree` (its kernel facts per source range: `__be16` members,
    /// user pointers), which Ken's kernel-value checks read; nil without a kernel.
    public var resolved: ResolvedProgram?
    /// Comprehension's tree of the annotated program (`Candidate.annotated.text`).
    public var annotatedTree: Program?
    /// The symbolic verifier's result on `annotatedTree`, when Comprehension ran it (it does, to
    /// find vacuous annotations): the prover reports it instead of proving the same program again.
    public var verification: VerificationResult?

    public init(file: String, tree: Program, resolved: ResolvedProgram? = nil, annotatedTree: Program? = nil,
                verification: VerificationResult? = nil) {
        self.file = file
        self.tree = tree
        self.resolved = resolved
        self.annotatedTree = annotatedTree
        self.verification = verification
    }
}

/// A candidate of kend's pipeline.
public typealias KernelCandidate = Candidate<TypedProgram>
