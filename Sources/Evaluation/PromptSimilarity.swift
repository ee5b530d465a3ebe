import Foundation

/// Word-overlap similarity between prompts, to keep an evaluation set held apart from the
/// example corpus: a prompt that nearly repeats a corpus prompt would measure retrieval, not
/// synthesis.
public enum PromptSimilarity {
    /// Words too common to say anything about what a prompt asks for.
    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "to", "and", "or", "in", "on", "for", "with", "by", "is", "it", "its",
        "that", "this", "when", "whenever", "each", "every", "any", "me", "i", "my", "show", "print",
        "tell", "log", "report", "which", "who", "what", "how", "as", "at", "from", "be", "are", "do",
        "does", "their", "them", "they", "one", "per", "all",
    ]

    /// Lower-cased words of letters and digits, without stop words.
    public static func words(_ text: String) -> Set<String> {
        var result: Set<String> = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber || character == "_" {
                current.append(character)
            } else if !current.isEmpty {
                result.insert(current)
                current = ""
            }
        }
        if !current.isEmpty { result.insert(current) }
        return result.subtracting(stopWords)
    }

    /// Jaccard similarity of the two prompts' word sets (0: no word shared, 1: same words).
    public static func jaccard(_ a: String, _ b: String) -> Double {
        let left = words(a), right = words(b)
        let union = left.union(right)
        guard !union.isEmpty else { return 1 }
        return Double(left.intersection(right).count) / Double(union.count)
    }

    /// The `// prompt:` lines of the corpus's `.bt` examples.
    public static func corpusPrompts(directory: String) throws -> [(file: String, prompt: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".bt") }.sorted()
        var prompts: [(file: String, prompt: String)] = []
        for name in names {
            let text = try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("// prompt:") {
                prompts.append((name, String(line.dropFirst("// prompt:".count)).trimmingCharacters(in: .whitespaces)))
            }
        }
        return prompts
    }
}
