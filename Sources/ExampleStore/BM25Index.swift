import Foundation

/// A ranked hit.
public struct ScoredExample: Sendable {
    public var example: Example
    /// Raw BM25 score (unbounded, only comparable within one query).
    public var score: Double
}

/// Okapi BM25 over each example's prompts, tags, probe names and program identifiers, plus a
/// TF-IDF cosine over prompts for a similarity that is comparable across queries (0...1).
///
/// Prompt terms are counted twice: what people asked for is the best evidence of what an
/// example does, the program's identifiers are supporting evidence.
public struct BM25Index: Sendable {
    public let examples: [Example]
    private let documents: [[String: Int]]
    private let lengths: [Double]
    private let averageLength: Double
    private let documentFrequency: [String: Int]
    /// Unit-length TF-IDF vectors of each phrasing of each example's prompt.
    private let promptVectors: [[[String: Double]]]
    private let k1 = 1.2
    private let b = 0.75

    public init(_ examples: [Example]) {
        self.examples = examples
        var documents: [[String: Int]] = []
        var frequency: [String: Int] = [:]
        for example in examples {
            var terms: [String] = []
            for prompt in example.prompts {
                let promptTerms = Tokenizer.terms(ofText: prompt)
                terms += promptTerms + promptTerms
            }
            terms += example.tags.flatMap { Tokenizer.terms(ofText: $0) }
            terms += example.probes.flatMap { Tokenizer.terms(ofProgram: $0) }
            terms += Tokenizer.terms(ofProgram: example.program)
            var counts: [String: Int] = [:]
            for term in terms { counts[term, default: 0] += 1 }
            for term in counts.keys { frequency[term, default: 0] += 1 }
            documents.append(counts)
        }
        self.documents = documents
        self.lengths = documents.map { Double($0.values.reduce(0, +)) }
        self.averageLength = lengths.isEmpty ? 1 : max(1, lengths.reduce(0, +) / Double(lengths.count))
        self.documentFrequency = frequency
        let count = Double(max(1, examples.count))
        let idf = { (term: String) -> Double in log(1 + count / Double(frequency[term] ?? 0).nonZero) }
        self.promptVectors = examples.map { example in
            example.prompts.map { BM25Index.unitVector(Tokenizer.terms(ofText: $0), idf: idf) }
        }
    }

    /// The `k` best examples for `query`, best first; examples sharing no term are left out.
    public func search(_ query: String, k: Int) -> [ScoredExample] {
        guard k > 0 else { return [] }
        let terms = Set(Tokenizer.terms(ofText: query))
        let count = Double(examples.count)
        var scored: [ScoredExample] = []
        for (index, document) in documents.enumerated() {
            var score = 0.0
            for term in terms {
                guard let tf = document[term].map(Double.init) else { continue }
                let df = Double(documentFrequency[term] ?? 0)
                let idf = log(1 + (count - df + 0.5) / (df + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[index] / averageLength))
            }
            if score > 0 { scored.append(ScoredExample(example: examples[index], score: score)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.example.id < $1.example.id }
        return Array(scored.prefix(k))
    }

    /// Cosine similarity (0...1) between the query and the example's closest phrasing, with IDF
    /// weights: 1 means the same content words, 0 nothing in common. Unknown query words count
    /// against the match, since the corpus says nothing about them.
    public func similarity(_ query: String, toExampleAt index: Int) -> Double {
        guard promptVectors.indices.contains(index) else { return 0 }
        let queryVector = queryVector(query)
        return promptVectors[index].map { BM25Index.dot(queryVector, $0) }.max() ?? 0
    }

    func queryVector(_ query: String) -> [String: Double] {
        let count = Double(max(1, examples.count))
        return BM25Index.unitVector(Tokenizer.terms(ofText: query)) { term in
            log(1 + count / Double(self.documentFrequency[term] ?? 0).nonZero)
        }
    }

    static func unitVector(_ terms: [String], idf: (String) -> Double) -> [String: Double] {
        var vector: [String: Double] = [:]
        for term in terms { vector[term, default: 0] += 1 }
        for (term, tf) in vector { vector[term] = tf * idf(term) }
        let norm = vector.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return [:] }
        return vector.mapValues { $0 / norm }
    }

    static func dot(_ a: [String: Double], _ b: [String: Double]) -> Double {
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        return min(1, max(0, small.reduce(0) { $0 + $1.value * (large[$1.key] ?? 0) }))
    }
}

private extension Double {
    /// Terms the corpus has never seen get half a document, so they weigh the most.
    var nonZero: Double { self == 0 ? 0.5 : self }
}
