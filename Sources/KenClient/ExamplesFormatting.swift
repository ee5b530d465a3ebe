import Foundation
import KenProto

/// How `kenc examples` prints kend's example store: one line per example for people, JSON for
/// scripts.
public enum ExamplesFormatting {
    /// `similarity` is a number for search results and null for the other forms.
    public static func json(_ reply: Ken_V1_ExamplesReply, withSimilarity: Bool) -> JSONValue {
        .array(reply.examples.map {
            .object([
                "id": .string($0.id), "prompts": .strings($0.prompts), "program": .string($0.program),
                "tags": .strings($0.tags), "origin": .string($0.origin),
                "similarity": withSimilarity ? .double($0.similarity) : .null, "needs_unsafe": .bool($0.needsUnsafe),
            ])
        })
    }

    public static func text(_ reply: Ken_V1_ExamplesReply, withSimilarity: Bool) -> String {
        if reply.examples.isEmpty { return "no examples\n" }
        return reply.examples.map { example in
            let score = withSimilarity ? String(format: "%3.0f%%  ", example.similarity * 100) : ""
            return "\(score)\(example.id.padding(toLength: 28, withPad: " ", startingAt: 0))  \(example.origin.padding(toLength: 14, withPad: " ", startingAt: 0))  \(example.prompts.first ?? "")"
        }.joined(separator: "\n") + "\n"
    }
}
