/// Turns prompts and programs into search terms. Identifiers are split at underscores and
/// non-alphanumerics as well as kept whole, so "sys_enter_openat" matches a prompt that says
/// "openat", and syscall spellings are mapped to the word a person types ("openat" → "open").
/// A light suffix stripper folds "opens", "opened", "opening" together.
public enum Tokenizer {
    /// Terms of natural-language text (prompts, tags).
    public static func terms(ofText text: String) -> [String] {
        var result: [String] = []
        for word in words(in: text) {
            let lower = word.lowercased()
            if stopWords.contains(lower) { continue }
            let parts = lower.split(separator: "_").map(String.init).filter { !$0.isEmpty }
            if parts.count > 1 { result.append(normalise(lower)) }
            for part in parts where !stopWords.contains(part) && !(part.count == 1 && !part.allSatisfy(\.isNumber)) {
                result.append(normalise(part))
            }
        }
        return result
    }

    /// Terms of a program: its identifiers and probe names, split the same way. Format strings
    /// and comments are not code, so they are dropped first.
    public static func terms(ofProgram program: String) -> [String] {
        var code = ""
        var inString = false
        var inComment = false
        var previous: Character = " "
        for char in program {
            if inComment {
                if char == "\n" { inComment = false; code.append(" ") }
            } else if inString {
                if char == "\"" && previous != "\\" { inString = false; code.append(" ") }
            } else if char == "\"" {
                inString = true
            } else if char == "/" && previous == "/" {
                inComment = true
                code.removeLast()
            } else {
                code.append(char)
            }
            previous = char
        }
        return terms(ofText: code).filter { !programNoise.contains($0) }
    }

    static func words(in text: String) -> [Substring] {
        text.split { !($0.isLetter || $0.isNumber || $0 == "_") }
    }

    static func normalise(_ word: String) -> String {
        if let mapped = synonyms[word] { return mapped }
        let stemmed = stem(word)
        return synonyms[stemmed] ?? stemmed
    }

    /// Strips one English inflection, then a final "e", so "create", "creates", "created" and
    /// "creating" all become "creat". Crude next to a real stemmer, but the same rule is applied
    /// to queries and documents, which is all retrieval needs.
    static func stem(_ word: String) -> String {
        guard word.count > 3, word.allSatisfy({ $0.isLetter }) else { return word }
        var stem = word
        if stem.hasSuffix("ies"), stem.count > 4 {
            stem = String(stem.dropLast(3)) + "y"
        } else if stem.hasSuffix("ing"), stem.count > 5 {
            stem = undouble(String(stem.dropLast(3)))
        } else if stem.hasSuffix("ed"), stem.count > 4 {
            stem = undouble(String(stem.dropLast(2)))
        } else if stem.hasSuffix("es"), ["ses", "xes", "zes", "ches", "shes"].contains(where: stem.hasSuffix) {
            stem = String(stem.dropLast(2))
        } else if stem.hasSuffix("s"), !["ss", "us", "is"].contains(where: stem.hasSuffix) {
            stem = String(stem.dropLast())
        }
        if stem.hasSuffix("e"), stem.count > 3 { stem = String(stem.dropLast()) }
        return stem
    }

    /// "stopp" → "stop", "runn" → "run"; but "kill", "pass" and "buzz" keep their pair.
    private static func undouble(_ stem: String) -> String {
        guard let last = stem.last, stem.count > 2, stem.dropLast().last == last,
              !"lsz".contains(last), !"aeiou".contains(last) else { return stem }
        return String(stem.dropLast())
    }

    /// Syscall and kernel spellings mapped to the stem of the everyday word.
    static let synonyms: [String: String] = [
        "openat": "open", "openat2": "open", "unlinkat": "unlink", "delet": "unlink", "deletion": "unlink",
        "remov": "unlink", "mkdirat": "mkdir", "renameat": "renam", "renameat2": "renam",
        "execve": "exec", "execveat": "exec", "execut": "exec", "fchmodat": "chmod",
        "fchownat": "chown", "newfstatat": "stat", "statx": "stat", "clone3": "clone",
        "sigkill": "kill", "proc": "process", "sched": "schedul", "scheduler": "schedul",
        "disk": "block", "bio": "block", "lat": "latency", "usec": "us", "microsecond": "us",
        "millisecond": "ms", "msec": "ms", "nanosecond": "ns", "sys": "syscall",
    ]

    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "to", "in", "on", "for", "with", "and", "or", "by", "is", "are",
        "be", "it", "its", "that", "this", "which", "what", "who", "whom", "how", "when", "me", "my",
        "i", "we", "you", "show", "print", "tell", "display", "please", "want", "give", "every",
        "each", "all", "any", "as", "from", "into", "then", "than", "do", "does", "can", "could",
        "would", "should", "some", "so", "if", "at", "per", "about", "there", "their", "they",
        "them", "was", "were", "been", "being", "has", "have", "had", "also", "just", "let", "using",
        "use", "uses", "via", "trace", "tracing", "log", "logs", "list", "report", "watch",
    ]

    /// Words present in nearly every program; they only add noise to program terms.
    static let programNoise: Set<String> = [
        "printf", "tracepoint", "syscall", "enter", "exit", "args", "comm", "pid", "tid", "nsecs",
    ]
}
