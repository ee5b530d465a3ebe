import Foundation

/// One chat message in the OpenAI format.
public struct ChatMessage: Sendable, Codable, Equatable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
    public static func system(_ text: String) -> ChatMessage { ChatMessage(.system, text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(.user, text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(.assistant, text) }
}

/// What one call cost and how long it took, so kend can report spend and latency per synthesis.
public struct CallMetrics: Sendable, Equatable {
    public var endpoint: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// Wall-clock time of the whole call, retries and waits included.
    public var latency: Duration
    /// 1 when the first attempt succeeded.
    public var attempts: Int
}

/// The assistant's answer to a chat request.
public struct ChatCompletion: Sendable, Equatable {
    public var content: String
    public var model: String
    /// `stop`, `length` (hit max tokens), ...; nil if the server did not say.
    public var finishReason: String?
    public var metrics: CallMetrics
}

/// Vectors for the inputs of an embeddings request, in input order.
public struct Embeddings: Sendable, Equatable {
    public var vectors: [[Double]]
    public var model: String
    public var metrics: CallMetrics
}

// MARK: Wire formats (private to the module).

struct ChatRequestBody: Encodable {
    var model: String
    var messages: [ChatMessage]
    var temperature: Double
    var max_tokens: Int
}

struct ChatResponseBody: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable { var content: String? }
        var message: Message?
        var finish_reason: String?
    }
    struct Usage: Decodable {
        var prompt_tokens: Int?
        var completion_tokens: Int?
    }
    var model: String?
    var choices: [Choice]
    var usage: Usage?
}

struct EmbeddingsRequestBody: Encodable {
    var model: String
    var input: [String]
}

struct EmbeddingsResponseBody: Decodable {
    struct Item: Decodable {
        var index: Int?
        var embedding: [Double]
    }
    var data: [Item]
    var model: String?
    var usage: ChatResponseBody.Usage?
}
