import Foundation

/// How kend talks to its model. Defaults suit a hosted OpenAI-compatible API; every field can be
/// overridden for local servers or tests.
public struct LLMConfiguration: Sendable, Equatable {
    /// Base URL ending in `/v1`, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    public var baseURL: String
    public var model: String
    /// Model for `/v1/embeddings`; nil means embeddings are not used.
    public var embeddingModel: String?
    public var apiKey: APIKeySource
    /// Low by default: a program that must verify is better served by the likeliest answer.
    public var temperature: Double
    public var maxTokens: Int
    public var connectTimeout: Double
    public var totalTimeout: Double
    /// Retries after the first attempt, on 429 and 5xx only.
    public var maxRetries: Int
    /// First backoff delay in seconds; doubled on each retry up to `maxBackoff`.
    public var initialBackoff: Double
    public var maxBackoff: Double
    /// A `Retry-After` longer than this fails the call instead of stalling a synthesis for it.
    public var maxRetryAfter: Double

    /// The systemd credential name kend's unit loads the key under.
    public static let defaultCredentialName = "llm-api-key"

    public init(baseURL: String, model: String, embeddingModel: String? = nil,
                apiKey: APIKeySource = .none, temperature: Double = 0.2, maxTokens: Int = 2048,
                connectTimeout: Double = 5, totalTimeout: Double = 120, maxRetries: Int = 3,
                initialBackoff: Double = 1, maxBackoff: Double = 30, maxRetryAfter: Double = 60) {
        self.baseURL = baseURL
        self.model = model
        self.embeddingModel = embeddingModel
        self.apiKey = apiKey
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// Reads `KEN_LLM_URL`, `KEN_LLM_MODEL`, `KEN_LLM_API_KEY_FILE` (and optionally
    /// `KEN_LLM_EMBEDDING_MODEL`, `KEN_LLM_TEMPERATURE`, `KEN_LLM_MAX_TOKENS`,
    /// `KEN_LLM_TIMEOUT`). Returns nil when `KEN_LLM_URL` is unset: kend then runs with the
    /// offline library synthesizer. Without a key file, the systemd credential
    /// `llm-api-key` is used when `$CREDENTIALS_DIRECTORY` holds one.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(LLMError) -> LLMConfiguration? {
        guard let url = environment["KEN_LLM_URL"], !url.isEmpty else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw .notConfigured("KEN_LLM_URL must start with http:// or https:// (got '\(url)')")
        }
        guard let model = environment["KEN_LLM_MODEL"], !model.isEmpty else {
            throw .notConfigured("KEN_LLM_URL is set but KEN_LLM_MODEL is not")
        }
        var configuration = LLMConfiguration(baseURL: url, model: model)
        if let file = environment["KEN_LLM_API_KEY_FILE"], !file.isEmpty {
            configuration.apiKey = .file(file)
        } else if let directory = environment["CREDENTIALS_DIRECTORY"],
                  FileManager.default.fileExists(atPath: directory + "/" + defaultCredentialName) {
            configuration.apiKey = .credential(defaultCredentialName)
        }
        if let embedding = environment["KEN_LLM_EMBEDDING_MODEL"], !embedding.isEmpty {
            configuration.embeddingModel = embedding
        }
        if let text = environment["KEN_LLM_TEMPERATURE"] {
            guard let value = Double(text), (0...2).contains(value) else {
                throw .notConfigured("KEN_LLM_TEMPERATURE must be a number in 0...2 (got '\(text)')")
            }
            configuration.temperature = value
        }
        if let text = environment["KEN_LLM_MAX_TOKENS"] {
            guard let value = Int(text), value > 0 else {
                throw .notConfigured("KEN_LLM_MAX_TOKENS must be a positive integer (got '\(text)')")
            }
            configuration.maxTokens = value
        }
        if let text = environment["KEN_LLM_TIMEOUT"] {
            guard let value = Double(text), value > 0 else {
                throw .notConfigured("KEN_LLM_TIMEOUT must be a positive number of seconds (got '\(text)')")
            }
            configuration.totalTimeout = value
        }
        return configuration
    }

    /// `baseURL` joined with an API path, tolerating a trailing slash on the base.
    func endpoint(_ path: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/" + path
    }
}
