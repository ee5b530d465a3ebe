import Foundation
import LLM

/// Something that turns texts into vectors. The LLM module's `/v1/embeddings` client is the real
/// one (`LLMEmbedder`); the protocol keeps the store independent of how vectors are made.
public protocol TextEmbedder: Sendable {
    /// Identifies the vector space; cached vectors are only reused for the same model.
    var modelName: String { get }
    func embed(_ texts: [String]) async throws -> [[Double]]
}

/// Embeddings through an OpenAI-compatible endpoint.
public struct LLMEmbedder: TextEmbedder {
    public let client: LLMClient
    public let modelName: String

    /// Nil when the client has no embedding model configured.
    public init?(client: LLMClient) {
        guard let model = client.configuration.embeddingModel else { return nil }
        self.client = client
        self.modelName = model
    }

    public func embed(_ texts: [String]) async throws -> [[Double]] {
        try await client.embed(texts, model: modelName).vectors
    }
}

/// Vectors already computed, by model and text, so each example is embedded once per model
/// (and, with a state directory, once per installation rather than once per start).
struct EmbeddingCache: Sendable {
    private(set) var vectors: [String: [Double]] = [:]
    let file: URL?

    init(file: URL?) {
        self.file = file
        if let file, let data = try? Data(contentsOf: file),
           let stored = try? JSONDecoder().decode([String: [Double]].self, from: data) {
            vectors = stored
        }
    }

    static func key(model: String, text: String) -> String { model + "\u{1F}" + text }

    func vector(model: String, text: String) -> [Double]? { vectors[Self.key(model: model, text: text)] }

    mutating func store(model: String, texts: [String], vectors new: [[Double]]) {
        for (text, vector) in zip(texts, new) { vectors[Self.key(model: model, text: text)] = vector }
    }

    /// Best effort: a cache that cannot be written only costs recomputation.
    func persist() {
        guard let file, let data = try? JSONEncoder().encode(vectors) else { return }
        let temporary = file.deletingLastPathComponent()
            .appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString).tmp")
        guard (try? data.write(to: temporary)) != nil else { return }
        if rename(temporary.path, file.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
    }
}

enum VectorMath {
    /// Cosine similarity, clamped to 0...1 (opposite directions are as useless as orthogonal
    /// ones for picking examples). Mismatched or zero vectors give 0.
    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        guard na > 0, nb > 0 else { return 0 }
        return min(1, max(0, dot / (na.squareRoot() * nb.squareRoot())))
    }
}
