/// One example that does the requested task, with its parameters filled in.
public struct LibraryCandidate: Sendable {
    public var example: Example
    /// Word similarity of the request to the example's prompts (TF-IDF cosine, 0...1).
    public var similarity: Double
    /// The example's program with the request's values substituted (the example's own program
    /// when nothing needed filling).
    public var program: String
    public var substitutions: [ParameterSubstitution]
    /// The period the request asked for, when it replaced the example's.
    public var interval: UInt64?
}

/// A near example that was not used, and why: what a decline offers as suggestions.
public struct LibraryNearMiss: Sendable {
    public var example: Example
    public var similarity: Double
    /// Why it is a different task (empty when it does the task but scored below the threshold).
    public var mismatches: [String]
}

/// What the offline library can answer for a request.
public struct LibraryDecision: Sendable {
    /// The request's task as read from its words.
    public var request: TaskModel
    /// Examples that do the task and are similar enough, best first. Empty: decline.
    public var candidates: [LibraryCandidate]
    /// The three examples nearest by words, whether or not they do the task.
    public var nearest: [LibraryNearMiss]
    public var threshold: Double
}

/// The offline library's rule: an example answers a request only when its task model agrees
/// with the request's (same events, action, grouping, filters; outputs asked for are shown),
/// with its parameters filled from the request, and when the request's words are at least
/// `threshold` similar to one of its prompts — a guard against a request that says more than
/// the task model can read. The threshold is calibrated on the dev split of the evaluation
/// prompts (docs/evaluation.md).
public enum LibraryMatcher {
    /// The calibrated default similarity floor (docs/evaluation.md, "Offline library").
    public static let defaultThreshold = 0.21

    /// Ranks `examples` for `request`; `similarity(i)` is the word similarity to example `i`.
    public static func decide(request prompt: String, examples: [Example], models: [TaskModel?],
                              similarity: (Int) -> Double, threshold: Double) -> LibraryDecision {
        let wanted = RequestTaskReader.task(of: prompt)
        var candidates: [LibraryCandidate] = []
        var all: [LibraryNearMiss] = []
        for (position, example) in examples.enumerated() {
            let score = similarity(position)
            guard let model = models[position] else {
                all.append(LibraryNearMiss(example: example, similarity: score, mismatches: ["its program does not parse"]))
                continue
            }
            var comparison = wanted.compare(toExample: model)
            var program = example.program
            if comparison.matches {
                do {
                    program = try ParameterFiller.fill(example.program, substitutions: comparison.substitutions,
                                                       interval: comparison.interval)
                } catch {
                    comparison.mismatches.append("cannot fill its parameters: \(error)")
                }
            }
            all.append(LibraryNearMiss(example: example, similarity: score, mismatches: comparison.mismatches))
            if comparison.matches, score >= threshold {
                candidates.append(LibraryCandidate(example: example, similarity: score, program: program,
                                                   substitutions: comparison.substitutions, interval: comparison.interval))
            }
        }
        candidates.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.example.id < $1.example.id }
        all.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.example.id < $1.example.id }
        return LibraryDecision(request: wanted, candidates: candidates, nearest: Array(all.prefix(3)), threshold: threshold)
    }
}

extension ExampleStore {
    /// The offline library's answer for `prompt`: the examples that do the task, best first,
    /// and the nearest three for a decline's suggestions.
    public func libraryDecision(for prompt: String, threshold: Double = LibraryMatcher.defaultThreshold) -> LibraryDecision {
        let examples = index.examples
        let models = examples.map(cachedTaskModel)
        return LibraryMatcher.decide(request: prompt, examples: examples, models: models,
                                     similarity: { index.similarity(prompt, toExampleAt: $0) }, threshold: threshold)
    }
}
