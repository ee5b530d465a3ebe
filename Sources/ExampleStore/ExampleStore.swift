import Foundation

/// One retrieved example.
public struct RetrievedExample: Sendable {
    public var example: Example
    /// What the ranking used: BM25 score, or embedding cosine when embeddings were used.
    public var score: Double
    /// Normalised similarity to the query in 0...1 (embedding cosine, or TF-IDF cosine).
    public var similarity: Double
}

/// The answer to a search, saying how it was ranked.
public struct SearchOutcome: Sendable {
    public enum Method: String, Sendable { case bm25, embeddings }
    public var results: [RetrievedExample]
    public var method: Method
    /// Why embeddings were not used although configured (the endpoint failed), for logs.
    public var note: String?
}

/// The few-shot example store (the paper's VectorDB): the shipped corpus, the bpftrace tools
/// installed on the machine and the syntheses Ken learned, searchable by BM25 and, when an
/// embedding model is configured, by embedding similarity.
public actor ExampleStore {
    public struct Configuration: Sendable {
        /// `corpus/examples`; nil for none.
        public var corpusDirectory: URL?
        /// Where installed bpftrace tools are looked for; empty to skip them.
        public var toolDirectories: [URL]
        /// kend's state directory: learned examples and the embedding cache live here; nil keeps
        /// learned examples in memory only.
        public var stateDirectory: URL?
        public var embedder: (any TextEmbedder)?

        public init(corpusDirectory: URL?, toolDirectories: [URL] = CorpusLoader.defaultToolDirectories,
                    stateDirectory: URL? = nil, embedder: (any TextEmbedder)? = nil) {
            self.corpusDirectory = corpusDirectory
            self.toolDirectories = toolDirectories
            self.stateDirectory = stateDirectory
            self.embedder = embedder
        }
    }

    private let fixed: [Example]
    private var learnedExamples: [Example]
    private let learnedStore: LearnedStore?
    private let embedder: (any TextEmbedder)?
    private var cache: EmbeddingCache
    /// Internal so the library matcher (LibraryMatcher.swift) ranks with the same index.
    private(set) var index: BM25Index

    /// Task models of examples by id (ids of learned examples are content hashes, so an id
    /// always names the same program).
    private var taskModelCache: [String: TaskModel?] = [:]

    /// Largest program accepted into the learned store.
    public static let maxProgramBytes = 64 * 1024

    public init(_ configuration: Configuration) throws(ExampleStoreError) {
        var fixed: [Example] = []
        if let directory = configuration.corpusDirectory {
            fixed = try CorpusLoader.loadDirectory(directory)
        }
        fixed += CorpusLoader.installedTools(in: configuration.toolDirectories)
        let store = configuration.stateDirectory.map { LearnedStore(stateDirectory: $0) }
        let learned = try store?.load() ?? []
        var ids = Set<String>()
        for example in fixed + learned where !ids.insert(example.id).inserted {
            throw .duplicateID(example.id)
        }
        self.fixed = fixed
        self.learnedExamples = learned
        self.learnedStore = store
        self.embedder = configuration.embedder
        self.cache = EmbeddingCache(file: configuration.stateDirectory?.appendingPathComponent("embedding-cache.json"))
        self.index = BM25Index(fixed + learned)
    }

    /// Where the shipped corpus is: `$KEN_CORPUS_DIR`, the installed location, or a `corpus/examples`
    /// folder in `start` or one of its parents (a source checkout).
    public static func locateCorpus(environment: [String: String] = ProcessInfo.processInfo.environment,
                                    searchingUpFrom start: URL? = nil) -> URL? {
        var candidates: [URL] = []
        if let dir = environment["KEN_CORPUS_DIR"], !dir.isEmpty { candidates.append(URL(fileURLWithPath: dir)) }
        candidates += ["/usr/share/ken/corpus/examples", "/usr/local/share/ken/corpus/examples"].map {
            URL(fileURLWithPath: $0)
        }
        if var directory = start {
            for _ in 0..<8 {
                candidates.append(directory.appendingPathComponent("corpus/examples"))
                directory.deleteLastPathComponent()
            }
        }
        var isDirectory: ObjCBool = false
        return candidates.first {
            FileManager.default.fileExists(atPath: $0.path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    // MARK: Listing.

    /// Every example: corpus, installed tools, learned.
    public func all() -> [Example] { index.examples }
    public func learned() -> [Example] { learnedExamples }
    public func example(id: String) -> Example? { index.examples.first { $0.id == id } }

    // MARK: Retrieval.

    /// The `k` examples most like `prompt`, best first.
    public func search(_ prompt: String, k: Int = 4) async -> SearchOutcome {
        guard k > 0 else { return SearchOutcome(results: [], method: .bm25) }
        if let embedder {
            do {
                let ranked = try await embeddingRanking(prompt, embedder: embedder)
                let results = ranked.prefix(k).map {
                    RetrievedExample(example: $0.example, score: $0.similarity, similarity: $0.similarity)
                }
                return SearchOutcome(results: Array(results), method: .embeddings)
            } catch {
                return SearchOutcome(results: bm25(prompt, k: k), method: .bm25,
                                     note: "embeddings unavailable, used BM25: \(error)")
            }
        }
        return SearchOutcome(results: bm25(prompt, k: k), method: .bm25)
    }

    /// The single closest example with a similarity in 0...1, for the offline library
    /// synthesizer's "close enough" decision. Embedding cosine when embeddings work, else TF-IDF
    /// cosine over prompts. Nil only when the store is empty or nothing shares a word.
    public func bestMatch(_ prompt: String) async -> (example: Example, similarity: Double)? {
        if let embedder, let ranked = try? await embeddingRanking(prompt, embedder: embedder),
           let best = ranked.first {
            return (best.example, best.similarity)
        }
        var best: (example: Example, similarity: Double)?
        for (position, example) in index.examples.enumerated() {
            let similarity = index.similarity(prompt, toExampleAt: position)
            if similarity > (best?.similarity ?? 0) { best = (example, similarity) }
        }
        return best
    }

    private func bm25(_ prompt: String, k: Int) -> [RetrievedExample] {
        let positions = Dictionary(uniqueKeysWithValues: index.examples.enumerated().map { ($1.id, $0) })
        return index.search(prompt, k: k).map { hit in
            RetrievedExample(example: hit.example, score: hit.score,
                             similarity: positions[hit.example.id].map { index.similarity(prompt, toExampleAt: $0) } ?? 0)
        }
    }

    private func embeddingRanking(_ prompt: String, embedder: any TextEmbedder)
        async throws -> [(example: Example, similarity: Double)] {
        let model = embedder.modelName
        let documents = index.examples.map(Self.embeddingText)
        let missing = Array(Set(documents.filter { cache.vector(model: model, text: $0) == nil })).sorted()
        var start = 0
        while start < missing.count {
            let batch = Array(missing[start..<min(start + 64, missing.count)])
            let vectors = try await embedder.embed(batch)
            guard vectors.count == batch.count else {
                throw ExampleStoreError.invalidExample("embedder returned \(vectors.count) vectors for \(batch.count) texts")
            }
            cache.store(model: model, texts: batch, vectors: vectors)
            start += batch.count
        }
        if !missing.isEmpty { cache.persist() }
        let query = try await embedder.embed([prompt])
        guard let queryVector = query.first else {
            throw ExampleStoreError.invalidExample("embedder returned no vector for the query")
        }
        // The store may have changed while waiting for the endpoint: rank what is there now.
        var ranked: [(example: Example, similarity: Double)] = []
        for example in index.examples {
            guard let vector = cache.vector(model: model, text: Self.embeddingText(example)) else { continue }
            ranked.append((example, VectorMath.cosine(queryVector, vector)))
        }
        ranked.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.example.id < $1.example.id }
        return ranked
    }

    static func embeddingText(_ example: Example) -> String { example.prompts.joined(separator: "\n") }

    /// An example's task model, read once.
    func cachedTaskModel(_ example: Example) -> TaskModel? {
        if let cached = taskModelCache[example.id] { return cached }
        let model = example.taskModel
        taskModelCache[example.id] = .some(model)
        return model
    }

    // MARK: Learning.

    /// Adds a proven synthesis (kend learns only proven ones). Adding the same prompt and program again returns the existing
    /// example instead of a duplicate. `probes` and `needsUnsafe` are derived from the program
    /// when not given.
    @discardableResult
    public func addLearned(prompt: String, program: String, tags: [String] = [], probes: [String]? = nil,
                           needsUnsafe: Bool? = nil) throws(ExampleStoreError) -> Example {
        let prompt = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        let program = program.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        guard !prompt.isEmpty else { throw .invalidExample("empty prompt") }
        guard program.count > 1 else { throw .invalidExample("empty program") }
        guard program.utf8.count <= Self.maxProgramBytes else {
            throw .invalidExample("program longer than \(Self.maxProgramBytes) bytes")
        }
        let id = "learned-" + Self.fingerprint(prompt + "\u{0}" + program)
        if let existing = learnedExamples.first(where: { $0.id == id }) { return existing }
        let example = Example(id: id, prompts: [prompt], program: program, tags: tags,
                              probes: probes ?? ProbeScanner.probes(in: program),
                              needsUnsafe: needsUnsafe ?? Self.usesUnsafeBuiltins(program),
                              origin: .learned, addedAt: Date())
        let updated = learnedExamples + [example]
        try learnedStore?.save(updated)
        learnedExamples = updated
        index = BM25Index(fixed + updated)
        return example
    }

    /// Removes a learned example; shipped and installed ones cannot be removed.
    @discardableResult
    public func remove(id: String) throws(ExampleStoreError) -> Example {
        if let other = fixed.first(where: { $0.id == id }) { throw .notRemovable(id: id, origin: other.origin) }
        guard let position = learnedExamples.firstIndex(where: { $0.id == id }) else { throw .notFound(id: id) }
        var updated = learnedExamples
        let removed = updated.remove(at: position)
        try learnedStore?.save(updated)
        learnedExamples = updated
        index = BM25Index(fixed + updated)
        return removed
    }

    /// Builtins bpftrace only allows with `--unsafe` (they act on the system, not just observe).
    static func usesUnsafeBuiltins(_ program: String) -> Bool {
        ["signal(", "system(", "override("].contains { program.contains($0) }
    }

    /// A stable 64-bit FNV-1a fingerprint in hex: stable ids across restarts without a crypto
    /// dependency (collisions only matter among one user's learned examples).
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
