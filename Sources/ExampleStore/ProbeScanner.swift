/// Finds the probe specifications of a bpftrace program without a full parser: text at brace
/// depth zero, outside comments and strings, split on commas and whitespace, keeping the words
/// that look like probes. Used to describe installed tools (which carry no metadata) and to
/// check the corpus headers; the real parser lives in BpftraceSyntax.
public enum ProbeScanner {
    public static func probes(in program: String) -> [String] {
        var headers = ""
        var depth = 0
        var index = program.startIndex
        var inString = false
        while index < program.endIndex {
            let char = program[index]
            let next = program.index(after: index)
            let following: Character? = next < program.endIndex ? program[next] : nil
            if inString {
                if char == "\\" { index = following == nil ? next : program.index(after: next); continue }
                if char == "\"" { inString = false }
                index = next
                continue
            }
            if char == "/" && following == "/" {
                while index < program.endIndex && program[index] != "\n" { index = program.index(after: index) }
                continue
            }
            if char == "/" && following == "*" {
                if let end = program.range(of: "*/", range: next..<program.endIndex) {
                    index = end.upperBound
                } else {
                    index = program.endIndex
                }
                headers.append(" ")
                continue
            }
            switch char {
            case "\"": inString = true
            case "{": depth += 1; if depth == 1 { headers.append("\n") }
            case "}": depth = max(0, depth - 1)
            default: if depth == 0 { headers.append(char) }
            }
            index = next
        }
        var result: [String] = []
        for word in headers.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            let text = String(word)
            guard looksLikeProbe(text), !result.contains(text) else { continue }
            result.append(text)
        }
        return result
    }

    static let kinds: Set<String> = [
        "tracepoint", "t", "rawtracepoint", "rt", "kprobe", "k", "kretprobe", "kr", "kfunc", "f",
        "kretfunc", "fr", "fentry", "fexit", "uprobe", "u", "uretprobe", "ur", "usdt", "U",
        "profile", "p", "interval", "i", "software", "s", "hardware", "h", "watchpoint", "w",
        "asyncwatchpoint", "iter", "it", "lsm",
    ]

    static func looksLikeProbe(_ word: String) -> Bool {
        if word == "BEGIN" || word == "END" { return true }
        guard let colon = word.firstIndex(of: ":") else { return false }
        return kinds.contains(String(word[..<colon])) && word.index(after: colon) < word.endIndex
    }
}
