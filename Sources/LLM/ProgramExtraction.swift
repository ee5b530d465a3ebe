/// Why no program could be taken from a model's reply.
public enum ProgramExtractionError: Error, Sendable, Equatable, CustomStringConvertible {
    case noCodeBlock
    case unterminatedCodeBlock
    case emptyCodeBlock

    public var description: String {
        switch self {
        case .noCodeBlock:
            return "the model's reply contains no ``` fenced code block with a bpftrace program"
        case .unterminatedCodeBlock:
            return "the model's reply has a ``` code block that never closes (reply cut off? raise max tokens)"
        case .emptyCodeBlock:
            return "the model's reply has an empty code block"
        }
    }
}

/// Takes the program out of a model reply. Models wrap code in Markdown fences and add prose
/// around it; Ken asks for a ```bpftrace block, so a block tagged `bpftrace` (or `bt`) wins over
/// untagged ones, and among equals the first.
public enum ProgramExtractor {
    public static func extract(from reply: String) throws(ProgramExtractionError) -> String {
        let blocks = try fencedBlocks(in: reply)
        guard !blocks.isEmpty else { throw .noCodeBlock }
        let preferred = blocks.first { ["bpftrace", "bt"].contains($0.language) }
            ?? blocks.first { $0.language.isEmpty }
            ?? blocks[0]
        let code = preferred.code.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !code.isEmpty else { throw .emptyCodeBlock }
        return code + "\n"
    }

    struct Block { var language: String; var code: String }

    static func fencedBlocks(in reply: String) throws(ProgramExtractionError) -> [Block] {
        var blocks: [Block] = []
        var open: (fence: String, language: String, lines: [Substring])?
        for line in reply.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var current = open {
                if trimmed.hasPrefix(current.fence),
                   trimmed.allSatisfy({ $0 == current.fence.first }) {
                    blocks.append(Block(language: current.language,
                                        code: current.lines.joined(separator: "\n")))
                    open = nil
                } else {
                    current.lines.append(line)
                    open = current
                }
                continue
            }
            for marker in ["```", "~~~"] where trimmed.hasPrefix(marker) {
                let fenceLength = trimmed.prefix { $0 == marker.first }.count
                let fence = String(repeating: String(marker.prefix(1)), count: fenceLength)
                let info = trimmed.dropFirst(fenceLength).trimmingCharacters(in: .whitespaces)
                let language = info.split(separator: " ").first.map { $0.lowercased() } ?? ""
                open = (fence, language, [])
                break
            }
        }
        if open != nil { throw .unterminatedCodeBlock }
        return blocks
    }
}
