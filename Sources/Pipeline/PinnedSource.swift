import Synthesis

/// Proposes a program that is already known — a cached synthesis or a program pinned in a fleet
/// manifest — on the first attempt, and defers to `fallback` after that (or stops, when there
/// is none: a pinned program must verify as it is, it is never rewritten by an LLM).
public struct PinnedSource: CandidateSource {
    public let program: String
    public let origin: CandidateOrigin
    public let label: String
    public let fallback: (any CandidateSource)?

    public init(program: String, origin: CandidateOrigin, label: String, fallback: (any CandidateSource)?) {
        self.program = program
        self.origin = origin
        self.label = label
        self.fallback = fallback
    }

    public var description: String {
        fallback.map { "\(label), then \($0.description)" } ?? label
    }

    public func propose(messages: [PromptMessage], request: SynthesisRequest, attempt: Int) async throws -> Proposal {
        if attempt == 1 {
            return Proposal(program: program, origin: origin)
        }
        guard let fallback else {
            throw PinnedProgramRejected(label: label)
        }
        return try await fallback.propose(messages: messages, request: request, attempt: attempt - 1)
    }
}

/// The pinned program failed a check and there is nothing else to try.
public struct PinnedProgramRejected: Error, CustomStringConvertible {
    public var label: String
    public var description: String { "the \(label) did not pass every check; it is not rewritten" }
}
