import KenProto

/// What a synthesis established about the program it produced: PROVEN or CHECKED.
///
/// Passing every stage (front end, Ken's own checks, kernel verifier) only says the program is
/// well-formed and loadable. It is *proven* only when the symbolic verifier proved at least one
/// assert that is tied to the request (stated by the prompt, the LLM reading the prompt, or the
/// program's author — not a contract fact) and that is not vacuous. Everything else is
/// *checked*, and carries the reason nothing was proven, so no report, registry row or line of
/// output can call a checked program verified.
public struct ProgramVerdict: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable {
        case proven
        case checked
    }

    public var kind: Kind
    /// The non-vacuous asserts proven, tied to the request, with who claimed each (empty when checked).
    public var provenAsserts: [Ken_V1_ProvenAssert]
    /// Why nothing was proven (empty when proven).
    public var unprovenReason: String

    public init(kind: Kind, provenAsserts: [Ken_V1_ProvenAssert] = [], unprovenReason: String = "") {
        self.kind = kind
        self.provenAsserts = provenAsserts
        self.unprovenReason = unprovenReason
    }

    public static func checked(_ reason: String) -> ProgramVerdict {
        ProgramVerdict(kind: .checked, unprovenReason: reason)
    }

    public var isProven: Bool { kind == .proven }

    public var proto: Ken_V1_ExtensionVerdict {
        switch kind {
        case .proven: .proven
        case .checked: .checked
        }
    }

    /// Judges the symbolic verifier's outcome. `proof` nil: no prover ran. `notes`: what
    /// Comprehension said about its annotations (dropped, no LLM…), to explain a CHECKED.
    public static func judge(proof: ProofOutcome?, notes: [String] = []) -> ProgramVerdict {
        guard let proof else {
            return .checked(withNotes("symbolic verification was not run", notes))
        }
        if let why = proof.couldNotCheck {
            // The prover could not even build the program (it did not resolve): UNKNOWN, not a pass.
            return .checked(withNotes("UNKNOWN: the symbolic verifier could not check the annotated program: "
                                      + why.firstLine, notes))
        }
        if proof.asserts.isEmpty {
            return .checked(withNotes("the program has no assert tied to the request, so nothing was proven", notes))
        }
        let proven = proof.asserts.filter(isProof)
        if !proven.isEmpty {
            return ProgramVerdict(kind: .proven, provenAsserts: proven.map(provenAssert))
        }
        let reason: String
        if proof.asserts.contains(where: { $0.verdict != .verified }) {
            reason = "not every assert was proven"
        } else if proof.asserts.allSatisfy(\.vacuous) {
            reason = "every assert is vacuous: it holds whatever the program does"
        } else {
            reason = "no proven assert is tied to the request (only contract facts were proven)"
        }
        return .checked(withNotes(reason, notes))
    }

    /// A proof counts when Z3 proved it, it is not vacuous, and someone tied to the request
    /// claimed it (a contract fact holds of the kernel, not of what was asked).
    public static func isProof(_ assert: Ken_V1_AssertVerdict) -> Bool {
        assert.verdict == .verified && !assert.vacuous
            && [.prompt, .llm, .program].contains(assert.claimedBy)
    }

    static func provenAssert(_ verdict: Ken_V1_AssertVerdict) -> Ken_V1_ProvenAssert {
        var out = Ken_V1_ProvenAssert()
        out.text = verdict.text
        out.file = verdict.file
        out.line = verdict.line
        out.column = verdict.column
        out.claimedBy = verdict.claimedBy
        return out
    }

    static func withNotes(_ reason: String, _ notes: [String]) -> String {
        notes.isEmpty ? reason : reason + " (" + notes.joined(separator: "; ") + ")"
    }

    /// Writes the verdict into a report.
    public func apply(to report: inout Ken_V1_SynthesisReport) {
        report.verdict = proto
        report.provenAsserts = provenAsserts
        report.unprovenReason = unprovenReason
    }
}
