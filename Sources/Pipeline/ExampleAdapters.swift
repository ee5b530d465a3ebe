import ExampleStore
import Synthesis

/// Few-shot examples for the Prompter, from the example store.
public struct StoreRetriever: ExampleRetriever {
    public let store: ExampleStore

    public init(store: ExampleStore) {
        self.store = store
    }

    public func examples(for prompt: String, limit: Int) async -> [FewShotExample] {
        await store.search(prompt, k: limit).results.map {
            FewShotExample(id: $0.example.id, prompt: $0.example.prompt, program: $0.example.program,
                           similarity: $0.similarity)
        }
    }
}

/// The offline default: with no LLM configured, candidates come from the example library —
/// only examples that do the asked task, with the request's values filled in
/// (`ExampleStore.libraryDecision`, `LibraryMatcher`): the best on the first attempt, the next
/// such example after a failure, and a decline once none is left. It never falls back to an
/// example that does some other task.
public struct LibrarySource: CandidateSource {
    public let store: ExampleStore
    /// The word-similarity floor (0...1) among examples that do the task; calibrated on the
    /// evaluation's dev split (docs/evaluation.md).
    public let threshold: Double
    public init(store: ExampleStore, threshold: Double = LibraryMatcher.defaultThreshold) {
        self.store = store
        self.threshold = threshold
    }

    public var description: String { "the example library (no LLM is configured)" }

    public func propose(messages: [PromptMessage], request: SynthesisRequest, attempt: Int) async throws -> Proposal {
        let decision = await store.libraryDecision(for: request.prompt, threshold: threshold)
        guard attempt >= 1, attempt <= decision.candidates.count else {
            throw LibraryDeclined(prompt: request.prompt, decision: decision, failedAttempts: attempt - 1)
        }
        let chosen = decision.candidates[attempt - 1]
        return Proposal(program: chosen.program,
                        origin: .library(exampleID: chosen.example.id, similarity: chosen.similarity))
    }
}

/// No example in the library does the task (or every one that does failed a check): the
/// library declines, and says which examples are nearest so the user can ask for one of them.
/// It gives no advice to add a hint: without an LLM a hint changes nothing.
public struct LibraryDeclined: Error, CustomStringConvertible {
    public var prompt: String
    public var decision: LibraryDecision
    /// Attempts of this task that already used an example and failed.
    public var failedAttempts: Int

    public init(prompt: String, decision: LibraryDecision, failedAttempts: Int) {
        self.prompt = prompt
        self.decision = decision
        self.failedAttempts = failedAttempts
    }

    public var description: String {
        var text: String
        if failedAttempts > 0 {
            text = "no LLM is configured, and no further example in the library does \"\(prompt)\" "
                + "(\(failedAttempts) that did failed Ken's checks)"
        } else {
            text = "no LLM is configured, and no example in the library does \"\(prompt)\" "
                + "(read as: \(decision.request))"
        }
        if !decision.nearest.isEmpty {
            text += ". Nearest examples:"
            for near in decision.nearest {
                let why = near.mismatches.first ?? "word similarity below \(Int((decision.threshold * 100).rounded()))%"
                text += "\n  - \(near.example.id): \"\(near.example.prompt)\" (\(why))"
            }
        }
        return text + "\nAsk for one of these, or configure an LLM (KEN_LLM_URL and KEN_LLM_MODEL) to write a new program."
    }
}
