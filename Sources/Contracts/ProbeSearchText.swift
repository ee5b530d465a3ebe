/// The words indexed for probe search, and the words taken from a prompt.
///
/// Kernel names are snake_case (`sys_enter_openat`, `tcp_v4_connect`): FTS5's tokenizer splits
/// them at `_`, and Porter stemming lets "connecting" meet `connect`. Field names are indexed
/// too, so "destination port" finds probes with a `dport`-like argument only if the words meet;
/// the few expansions below cover the abbreviations the kernel uses most.
enum ProbeSearchText {
    static func documentWords(_ probe: ProbeContract) -> String {
        var words: [String] = [probe.name.replacingColons()]
        for argument in probe.arguments {
            words.append(argument.name)
            if let record = argument.record { words.append(record.replacingColons()) }
        }
        let joined = words.joined(separator: " ")
        return joined + " " + expansions(of: joined)
    }

    /// Spells out kernel abbreviations so plain-English prompts match them.
    static func expansions(of text: String) -> String {
        let lower = text.lowercased()
        var extra: [String] = []
        for (abbreviation, words) in abbreviations where lower.contains(abbreviation) {
            extra.append(words)
        }
        return extra.joined(separator: " ")
    }

    static let abbreviations: [(String, String)] = [
        ("dport", "destination port"), ("sport", "source port"), ("daddr", "destination address"),
        ("saddr", "source address"), ("sys_enter", "syscall call entry"), ("sys_exit", "syscall return exit"),
        ("sched_process_exec", "exec execute program"), ("sched_process_fork", "fork process create"),
        ("sched_process_exit", "exit process"), ("openat", "open file"), ("unlink", "delete remove file"),
        ("kill", "signal"), ("skb", "packet"), ("rcv", "receive"), ("xmit", "transmit send"),
        ("_rq", "request"), ("blk", "block disk"), ("vfs", "file"), ("tcp", "tcp network"), ("udp", "udp network"),
    ]

    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "by", "with", "is", "are", "be", "it",
        "its", "this", "that", "these", "those", "each", "every", "all", "any", "print", "show", "count",
        "trace", "tracing", "when", "what", "which", "who", "how", "per", "as", "at", "from", "into",
        "me", "my", "i", "you", "please", "program", "bpftrace", "write", "log", "list", "number",
        "time", "times", "called", "call", "calls", "display", "output", "using", "use", "get",
    ]

    /// Lower-cased alphanumeric words of a prompt, stop words dropped, duplicates removed.
    static func queryWords(_ prompt: String) -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        var current = ""
        func flush() {
            if current.count >= 2, !stopWords.contains(current), seen.insert(current).inserted {
                out.append(current)
            }
            current = ""
        }
        for scalar in prompt.lowercased().unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else {
                flush()
            }
        }
        flush()
        return Array(out.prefix(32))
    }
}

extension String {
    func replacingColons() -> String {
        String(map { $0 == ":" ? " " : $0 })
    }
}
