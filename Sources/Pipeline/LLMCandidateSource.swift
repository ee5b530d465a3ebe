import LLM
import Synthesis

/// Candidates from an OpenAI-compatible model.
///
/// A reply without a program is the model's failure and goes back as feedback (stage LLM); an
/// unreachable endpoint is not, and stops the task with the client's error, which names the
/// endpoint and the reason.
public struct LLMCandidateSource: CandidateSource {
    public let client: LLMClient

    public init(client: LLMClient) {
        self.client = client
    }

    public var description: String {
        "\(client.configuration.model) at \(client.configuration.baseURL)"
    }

    public func propose(messages: [PromptMessage], request: SynthesisRequest, attempt: Int) async throws -> Proposal {
        let chat = messages.map { message -> ChatMessage in
            switch message.role {
            case .system: .system(message.content)
            case .user: .user(message.content)
            case .assistant: .assistant(message.content)
            }
        }
        let completion = try await client.complete(chat)
        let program: String
        do {
            program = try ProgramExtractor.extract(from: completion.content)
        } catch {
            throw StageFailure(stage: .llm, feedback: "\(error). Answer with the whole program in one ```bpftrace block.")
        }
        return Proposal(program: program, origin: .llm(model: completion.model),
                        promptTokens: completion.metrics.promptTokens,
                        completionTokens: completion.metrics.completionTokens,
                        latencySeconds: completion.metrics.latency.seconds)
    }
}
