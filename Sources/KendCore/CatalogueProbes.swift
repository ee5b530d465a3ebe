import KernelInfo
import Synthesis

/// Probes on this kernel that share words with the prompt, with their fields: what the Prompter
/// lists so the model names probes and fields this kernel really has.
///
/// Scoring is word overlap between the prompt and the tracepoint's category and name parts
/// (`syscalls:sys_enter_openat` → syscalls, sys, enter, openat, open), favouring syscall entry
/// points, which most requests are about.
public struct CatalogueProbes: ProbeSuggester {
    public let kernel: KernelInfo

    public init(kernel: KernelInfo) {
        self.kernel = kernel
    }

    public func probes(for prompt: String, limit: Int) async -> [ProbeHint] {
        guard let tracefs = kernel.tracefs, limit > 0 else { return [] }
        let words = Set(Self.words(prompt))
        guard !words.isEmpty else { return [] }
        var scored: [(name: String, score: Double)] = []
        for name in tracefs.allTracepoints {
            let parts = Self.words(name)
            var score = 0.0
            for part in parts where words.contains(part) { score += part.count >= 4 ? 2 : 1 }
            for word in words where word.count >= 4 && parts.contains(where: { $0.hasPrefix(word) && $0 != word }) {
                score += 0.5
            }
            guard score > 0 else { continue }
            if name.hasPrefix("syscalls:sys_enter_") { score += 0.25 }
            scored.append((name, score))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.name < $1.name }
        return scored.prefix(limit).map { entry in
            let pieces = entry.name.split(separator: ":", maxSplits: 1).map(String.init)
            var fields: [String] = []
            if pieces.count == 2, let format = try? tracefs.format(category: pieces[0], name: pieces[1]) {
                fields = format.fields.map { "\($0.typeText) \($0.name)" }
            }
            return ProbeHint(probe: "tracepoint:\(entry.name)", fields: fields)
        }
    }

    static func words(_ text: String) -> [String] {
        var out: [String] = []
        for token in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            let word = String(token)
            guard word.count >= 3, !stopWords.contains(word) else { continue }
            out.append(word)
            if word.hasSuffix("s"), word.count > 4 { out.append(String(word.dropLast())) }
            if word.hasSuffix("ed"), word.count > 5 { out.append(String(word.dropLast(2))) }
        }
        return out
    }

    static let stopWords: Set<String> = [
        "the", "and", "for", "every", "each", "print", "show", "when", "with", "that", "its", "their",
        "process", "all", "any", "from", "into", "per", "log", "count", "trace", "sys", "enter", "exit",
    ]
}
