import Foundation
import HTTP

/// An OpenAI-compatible client: `/chat/completions` and `/embeddings` under the configured base
/// URL. Retries 429 and 5xx with exponential backoff (or the server's `Retry-After`); fails at once
/// on connection errors and timeouts, which retrying rarely fixes and which would multiply the
/// user's wait.
public struct LLMClient: Sendable {
    public let configuration: LLMConfiguration
    public let usage: UsageLog
    private let apiKey: String?
    private let http: HTTPClient

    /// Reads the API key now, so a missing or unreadable key is reported at start-up rather than
    /// at the first synthesis.
    public init(configuration: LLMConfiguration, usage: UsageLog = UsageLog(),
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(LLMError) {
        guard configuration.baseURL.hasPrefix("http://") || configuration.baseURL.hasPrefix("https://") else {
            throw .notConfigured("base URL must start with http:// or https:// (got '\(configuration.baseURL)')")
        }
        guard !configuration.model.isEmpty else { throw .notConfigured("no model name") }
        self.configuration = configuration
        self.usage = usage
        self.apiKey = try configuration.apiKey.load(environment: environment)
        self.http = HTTPClient()
    }

    /// One chat completion. `temperature` and `maxTokens` override the configuration for this
    /// call only.
    public func complete(_ messages: [ChatMessage], temperature: Double? = nil,
                         maxTokens: Int? = nil) async throws(LLMError) -> ChatCompletion {
        let endpoint = configuration.endpoint("chat/completions")
        let body = ChatRequestBody(model: configuration.model, messages: messages,
                                   temperature: temperature ?? configuration.temperature,
                                   max_tokens: maxTokens ?? configuration.maxTokens)
        let (response, attempts, latency) = try await post(body, to: endpoint)
        let decoded: ChatResponseBody
        do {
            decoded = try JSONDecoder().decode(ChatResponseBody.self, from: response.body)
        } catch {
            throw .invalidResponse(endpoint: endpoint, reason: "not a chat completion: \(error)")
        }
        guard let choice = decoded.choices.first else {
            throw .invalidResponse(endpoint: endpoint, reason: "no choices in the reply")
        }
        guard let content = choice.message?.content else {
            throw .invalidResponse(endpoint: endpoint, reason: "the first choice has no message content")
        }
        let metrics = CallMetrics(endpoint: endpoint,
                                  promptTokens: decoded.usage?.prompt_tokens ?? 0,
                                  completionTokens: decoded.usage?.completion_tokens ?? 0,
                                  latency: latency, attempts: attempts)
        await usage.record(metrics)
        return ChatCompletion(content: content, model: decoded.model ?? configuration.model,
                              finishReason: choice.finish_reason, metrics: metrics)
    }

    /// Embeddings for `inputs` with `configuration.embeddingModel` (or `model` when given).
    public func embed(_ inputs: [String], model: String? = nil) async throws(LLMError) -> Embeddings {
        let endpoint = configuration.endpoint("embeddings")
        guard let model = model ?? configuration.embeddingModel else {
            throw .notConfigured("no embedding model configured (KEN_LLM_EMBEDDING_MODEL)")
        }
        if inputs.isEmpty {
            return Embeddings(vectors: [], model: model,
                              metrics: CallMetrics(endpoint: endpoint, promptTokens: 0, completionTokens: 0,
                                                   latency: .zero, attempts: 0))
        }
        let (response, attempts, latency) = try await post(EmbeddingsRequestBody(model: model, input: inputs),
                                                           to: endpoint)
        let decoded: EmbeddingsResponseBody
        do {
            decoded = try JSONDecoder().decode(EmbeddingsResponseBody.self, from: response.body)
        } catch {
            throw .invalidResponse(endpoint: endpoint, reason: "not an embeddings response: \(error)")
        }
        guard decoded.data.count == inputs.count else {
            throw .invalidResponse(endpoint: endpoint,
                                   reason: "\(decoded.data.count) vectors for \(inputs.count) inputs")
        }
        let ordered = decoded.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
        let vectors = ordered.map(\.element.embedding)
        if let first = vectors.first, first.isEmpty || vectors.contains(where: { $0.count != first.count }) {
            throw .invalidResponse(endpoint: endpoint, reason: "vectors are empty or of different lengths")
        }
        let metrics = CallMetrics(endpoint: endpoint, promptTokens: decoded.usage?.prompt_tokens ?? 0,
                                  completionTokens: 0, latency: latency, attempts: attempts)
        await usage.record(metrics)
        return Embeddings(vectors: vectors, model: decoded.model ?? model, metrics: metrics)
    }

    // MARK: Transport with retries.

    private func post(_ body: some Encodable, to endpoint: String)
        async throws(LLMError) -> (HTTPResponse, attempts: Int, latency: Duration) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload: Data
        do { payload = try encoder.encode(body) } catch {
            throw .invalidResponse(endpoint: endpoint, reason: "cannot encode the request: \(error)")
        }
        var headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json")]
        if let apiKey { headers.append(HTTPHeader("Authorization", "Bearer \(apiKey)")) }
        let request = HTTPRequest(method: "POST", url: endpoint, headers: headers, body: payload,
                                  connectTimeout: configuration.connectTimeout,
                                  totalTimeout: configuration.totalTimeout)
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            if Task.isCancelled { throw .cancelled(endpoint: endpoint) }
            let response: HTTPResponse
            do {
                response = try await http.send(request)
            } catch {
                throw Self.translate(error, endpoint: endpoint)
            }
            if (200..<300).contains(response.status) {
                return (response, attempt, clock.now - start)
            }
            let retryable = response.status == 429 || (500...599).contains(response.status)
            guard retryable, attempt <= configuration.maxRetries else {
                throw .httpStatus(endpoint: endpoint, status: response.status,
                                  message: Self.apiErrorMessage(response), attempts: attempt)
            }
            var delay = min(configuration.maxBackoff,
                            configuration.initialBackoff * pow(2, Double(attempt - 1)))
            if let header = response.header("Retry-After"), let asked = RetryAfter.seconds(from: header) {
                guard asked <= configuration.maxRetryAfter else {
                    throw .retryAfterTooLong(endpoint: endpoint, seconds: asked,
                                             limit: configuration.maxRetryAfter)
                }
                delay = asked
            }
            do {
                try await Task.sleep(for: .milliseconds(Int((delay * 1000).rounded(.up))))
            } catch {
                throw .cancelled(endpoint: endpoint)
            }
        }
    }

    private static func translate(_ error: HTTPError, endpoint: String) -> LLMError {
        switch error {
        case .connectionFailed(_, let message):
            return .connectionFailed(endpoint: endpoint, message: message)
        case .timedOut(_, let seconds, _):
            return .timedOut(endpoint: endpoint, seconds: seconds)
        case .cancelled:
            return .cancelled(endpoint: endpoint)
        case .responseTooLarge, .invalidRequest, .transferFailed:
            return .connectionFailed(endpoint: endpoint, message: error.description)
        }
    }

    /// The API's own explanation: OpenAI's `{"error": {"message": …}}`, the `{"error": "…"}`
    /// or `{"detail": …}` some servers use, or else the start of the body.
    static func apiErrorMessage(_ response: HTTPResponse) -> String {
        if let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
                return message
            }
            if let message = object["error"] as? String { return message }
            if let detail = object["detail"] as? String { return detail }
            if let message = object["message"] as? String { return message }
        }
        let text = response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return "(empty body)" }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
