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

/// The offline default: with no LLM configured, candidates are the closest verified programs
/// of the example library — the closest on the first attempt, the next closest after a failure —
/// as long as they are close enough to the request to be an honest answer.
public struct LibrarySource: CandidateSource {
    public let store: ExampleStore
    /// Below this similarity (0...1) the library declines rather than answer something else.
    public let threshold: Double
    public init(store: ExampleStore, threshold: Double = 0.25) {
        self.store = store
        self.threshold = threshold
    }

    public var description: String { "the example library (no LLM is configured)" }

    public func propose(messages: [PromptMessage], request: SynthesisRequest, attempt: Int) async throws -> Proposal {
        var ranked = await store.search(request.prompt, k: max(request.maxAttempts, attempt)).results
            .map { (example: $0.example, similarity: $0.similarity) }
        if let best = await store.bestMatch(request.prompt),
           !ranked.contains(where: { $0.example.id == best.example.id }) {
            ranked.append(best)
        }
        ranked.sort { $0.similarity > $1.similarity }
        guard let best = ranked.first, best.similarity >= threshold else {
            throw LibraryDeclined(prompt: request.prompt, closest: ranked.first.map { ($0.example.prompt, $0.similarity) },
                                  threshold: threshold)
        }
        guard attempt <= ranked.count, ranked[attempt - 1].similarity >= threshold else {
            throw LibraryDeclined(prompt: request.prompt, closest: nil, threshold: threshold)
        }
        let chosen = ranked[attempt - 1]
        return Proposal(program: chosen.example.program,
                        origin: .library(exampleID: chosen.example.id, similarity: chosen.similarity))
    }
}

/// No example is close enough to answer without an LLM.
public struct LibraryDeclined: Error, CustomStringConvertible {
    public var prompt: String
    public var closest: (prompt: String, similarity: Double)?
    public var threshold: Double

    public var description: String {
        var text = "no LLM is configured and no verified example is close enough to \"\(prompt)\""
        if let closest {
            text += " (closest: \"\(closest.prompt)\", similarity \(Int((closest.similarity * 100).rounded()))%, needed \(Int((threshold * 100).rounded()))%)"
        } else {
            text += " (no further example above \(Int((threshold * 100).rounded()))%)"
        }
        return text + "; configure an LLM with KEN_LLM_URL and KEN_LLM_MODEL, or rephrase"
    }
}
