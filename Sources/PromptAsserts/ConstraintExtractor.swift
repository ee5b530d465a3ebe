import Foundation

/// Reads the explicit constraints of a request: process names, pids, uids, signals, ports, size
/// and duration thresholds, paths. Pattern by pattern, each tied to the words it matched; a
/// negated phrase ("not opened by vim", "other than nginx"), an unknown signal, an ambiguous unit
/// ("10 MB": 10^6 or 2^20?) or two different process names give nothing, with the reason.
public enum ConstraintExtractor {
    public struct Extraction: Sendable, Hashable {
        public var constraints: [PromptConstraint]
        public var skipped: [SkippedPhrase]
    }

    public static func extract(_ prompt: String) -> Extraction {
        var out = Extraction(constraints: [], skipped: [])
        processNames(prompt, into: &out)
        numbered(prompt, into: &out)
        signals(prompt, into: &out)
        thresholds(prompt, into: &out)
        paths(prompt, into: &out)
        return out
    }

    // MARK: Process names

    /// A process name as a request writes one: a command, not an English word.
    static let name = #""?(?:[A-Za-z0-9][A-Za-z0-9_.+-]*[A-Za-z0-9+]|[A-Za-z0-9])"?"#
    /// One name, or several joined by "or" (captured whole, split after). Commas are not
    /// joins: "by nginx, per syscall" names one process.
    static let names = #"(\#(name)(?:\s+or\s+\#(name))*)"#
    static let processNouns = "process|processes|program|programs|task|tasks|command|commands|binary|binaries|"
        + "thread|threads|executable|executables|utility|utilities|tool|tools|app|apps|application|applications"
    static let actions = "opened|run|started|launched|executed|created|written|read|made|issued|sent|done|"
        + "performed|called|deleted|removed|unlinked|renamed|accessed|modified|spawned|forked|used"

    static let namePatterns: [String] = [
        // "programs called false", "a task named seq", "processes named sh or bash"
        #"\b(?:\#(processNouns))\s+(?:named|called)\s+\#(names)"#,
        // "opened by vim", "files created by touch or cp"
        #"\b(?:\#(actions))\s+by\s+(?:the\s+)?\#(names)"#,
        // "the uname utility", "every sleep command"
        #"\b(?:the|every|each|any|a|an)\s+(\#(name))\s+(?:command|utility|program|binary|executable|tool)s?\b"#,
        // "the python3 process", "python3 processes" (a bare word needs a digit: "Show processes" is a verb)
        #"\b(?:the|a|an|each|every|any|all)\s+(\#(name))\s+process(?:es)?\b"#,
        #"(?:^|[\s(])([A-Za-z][A-Za-z_.+-]*[0-9][A-Za-z0-9_.+-]*)\s+process(?:es)?\b"#,
        // "while dd is running"
        #"\bwhile\s+(\#(name))\s+is\s+running\b"#,
        // "a shell (sh or bash)"
        #"\b(?:shell|shells|editor|editors|program|programs|process|processes)\s*\(\s*\#(names)\s*\)"#,
    ]

    /// The names of a captured list: `sh or bash`, `"vim", "nvim"`.
    static func split(_ list: String) -> [String] {
        list.replacingOccurrences(of: "\"", with: " ").replacingOccurrences(of: ",", with: " ")
            .split(whereSeparator: \.isWhitespace).map(String.init).filter { $0.lowercased() != "or" }
    }

    /// Words that fill a name's slot in these patterns without naming a program.
    static let notNames: Set<String> = [
        "a", "an", "the", "any", "each", "every", "some", "all", "this", "that", "these", "those", "which", "what",
        "whatever", "who", "whoever", "it", "its", "them", "their", "his", "her", "my", "your", "our", "one", "ones",
        "process", "processes", "program", "programs", "task", "tasks", "command", "commands", "user", "users",
        "root", "kernel", "system", "something", "anything", "anyone", "someone", "somebody", "nobody", "other",
        "others", "another", "same", "different", "new", "old", "child", "parent", "calling", "current", "given",
        "target", "traced", "running", "own", "main", "first", "last", "next", "previous", "original", "init",
        "shell", "shells", "daemon", "daemons", "service", "services", "application", "applications", "binary",
        "executable", "thread", "threads", "single", "particular", "specific", "certain", "such", "top", "most",
        "many", "few", "no", "not", "of", "or", "and", "to", "in", "on", "for", "from", "with", "by", "at", "as",
        "is", "are", "was", "be", "utility", "tool", "tools", "remote", "local", "external", "background",
        "foreground", "interactive", "idle", "busy", "slow", "fast", "short", "long", "big", "small", "large",
        "uid", "gid", "pid", "tid", "port", "signal", "file", "files", "path", "socket", "cpu", "memory",
        "whole", "entire", "multiple", "several", "both", "either", "neither", "someone's", "web", "database",
    ]

    static let negationWords: Set<String> = ["not", "never", "no", "without", "except", "excluding", "besides", "unless"]
    static let negationPhrases = ["n't", "other than", "apart from", "rather than", "instead of"]

    static func processNames(_ prompt: String, into out: inout Extraction) {
        var found: [(names: [String], phrase: String)] = []
        for pattern in namePatterns {
            for match in matches(pattern, in: prompt) {
                let names = match.groups.compactMap { $0 }.flatMap(split)
                let phrase = match.text.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "(")))
                guard !names.isEmpty,
                      !names.contains(where: { notNames.contains($0.lowercased()) || !$0.contains(where: \.isLetter) }) else {
                    continue
                }
                if isNegated(prompt, before: match.range) {
                    out.skipped.append(SkippedPhrase(phrase: phrase, reason: "it is negated"))
                    continue
                }
                if let long = names.first(where: { $0.utf8.count > 15 }) {
                    out.skipped.append(SkippedPhrase(phrase: phrase,
                                                     reason: "\(long) is longer than the 15 characters a task name keeps"))
                    continue
                }
                found.append((names, phrase))
            }
        }
        guard let first = found.first else { return }
        let sets = Set(found.map { Set($0.names) })
        guard sets.count == 1 else {
            out.skipped.append(SkippedPhrase(phrase: found.map(\.phrase).joined(separator: "; "),
                                             reason: "it names different processes"))
            return
        }
        out.constraints.append(PromptConstraint(kind: .processName(first.names), phrase: first.phrase))
    }

    static func isNegated(_ prompt: String, before range: Range<String.Index>) -> Bool {
        let start = prompt.index(range.lowerBound, offsetBy: -min(24, prompt.distance(from: prompt.startIndex, to: range.lowerBound)))
        let window = (prompt[start..<range.lowerBound] + " " + prompt[range]).lowercased()
        let words = Set(window.split { !$0.isLetter }.map(String.init))
        return !words.isDisjoint(with: negationWords) || negationPhrases.contains { window.contains($0) }
    }

    // MARK: Numbers: pid, uid, port

    static func numbered(_ prompt: String, into out: inout Extraction) {
        func each(_ pattern: String, _ make: (UInt64, String, Range<String.Index>) -> PromptConstraint.Kind?) {
            var kinds: [PromptConstraint] = []
            for match in matches(pattern, in: prompt) {
                guard let digits = match.groups.last ?? nil, let value = UInt64(digits) else { continue }
                if isNegated(prompt, before: match.range) {
                    out.skipped.append(SkippedPhrase(phrase: match.text, reason: "it is negated"))
                    continue
                }
                if let kind = make(value, match.text, match.range) { kinds.append(PromptConstraint(kind: kind, phrase: match.text)) }
            }
            if Set(kinds.map(\.kind)).count == 1, let first = kinds.first {
                out.constraints.append(first)
            } else if kinds.count > 1 {
                out.skipped.append(SkippedPhrase(phrase: kinds.map(\.phrase).joined(separator: "; "),
                                                 reason: "it states more than one value"))
            }
        }
        each(#"\b(?:pid|process id|process)\s+(?:number\s+|#)?(\d{1,7})\b"#) { value, _, _ in .pid(value) }
        each(#"\b(?:uid|user id|user)\s+(?:number\s+|#)?(\d{1,10})\b"#) { value, _, _ in .uid(value) }
        each(#"\b((?:to|from|destination|remote|source|local)\s+)?port\s+(?:number\s+)?(\d{1,5})\b"#) { value, text, _ in
            guard value <= 65535 else { return nil }
            let lower = text.lowercased()
            if ["to ", "destination ", "remote "].contains(where: { lower.hasPrefix($0) }) { return .port(value, direction: .destination) }
            if ["from ", "source ", "local "].contains(where: { lower.hasPrefix($0) }) { return .port(value, direction: .source) }
            return .port(value, direction: .either)
        }
    }

    // MARK: Signals

    /// Linux signal numbers (x86-64 and arm64 share them): a kernel ABI fact.
    public static let signalNumbers: [String: UInt64] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
        "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
        "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
    ]
    /// Verbs that make a signal something observed, not something Ken should send.
    static let observed = #"(?:sent|sends|send|receives|received|receive|gets|get|got|delivered|generated|raised|raises|catches|caught|gets\s+sent|is\s+sent|was\s+sent)"#

    static func signals(_ prompt: String, into out: inout Extraction) {
        var found: [PromptConstraint] = []
        let signal = #"(?:(?-i:SIG([A-Z][A-Z0-9]*))|\bsignal\s+(?:number\s+)?(\d{1,2}))\b"#
        let patterns = [#"\b\#(observed)\s+(?:a\s+|the\s+)?\#(signal)"#, #"\b\#(signal)\s+(?:is\s+|was\s+|gets\s+)?(?:sent|delivered|generated|raised|received)\b"#]
        for pattern in patterns {
            for match in matches(pattern, in: prompt) {
                let groups = match.groups
                let number: UInt64?
                let name: String
                if let symbolic = groups[0] {
                    number = signalNumbers[symbolic.uppercased()]
                    name = "SIG" + symbolic.uppercased()
                } else if let digits = groups[1], let value = UInt64(digits), (1...64).contains(value) {
                    number = value
                    name = "signal \(value)"
                } else {
                    continue
                }
                guard let number else {
                    out.skipped.append(SkippedPhrase(phrase: match.text, reason: "\(name) is not a Linux signal"))
                    continue
                }
                if isNegated(prompt, before: match.range) {
                    out.skipped.append(SkippedPhrase(phrase: match.text, reason: "it is negated"))
                    continue
                }
                found.append(PromptConstraint(kind: .signal(number: number, name: name), phrase: match.text))
            }
        }
        if Set(found.map(\.kind)).count == 1, let first = found.first {
            out.constraints.append(first)
        } else if found.count > 1 {
            out.skipped.append(SkippedPhrase(phrase: found.map(\.phrase).joined(separator: "; "), reason: "it names several signals"))
        }
    }

    // MARK: Thresholds

    static let byteUnits: [String: UInt64] = [
        "byte": 1, "bytes": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
    ]
    static let ambiguousUnits: Set<String> = ["kb", "mb", "gb", "k", "m", "g", "kilobyte", "kilobytes", "megabyte",
                                              "megabytes", "gigabyte", "gigabytes"]
    static let timeUnits: [String: UInt64] = [
        "ns": 1, "nanosecond": 1, "nanoseconds": 1, "us": 1_000, "µs": 1_000, "microsecond": 1_000,
        "microseconds": 1_000, "ms": 1_000_000, "millisecond": 1_000_000, "milliseconds": 1_000_000,
        "s": 1_000_000_000, "sec": 1_000_000_000, "secs": 1_000_000_000, "second": 1_000_000_000,
        "seconds": 1_000_000_000,
    ]

    static func thresholds(_ prompt: String, into out: inout Extraction) {
        let pattern = #"\b(larger|bigger|greater|more|longer|slower|over|above|exceeding|at\s+least)\s+(?:than\s+)?(\d+)\s*([A-Za-zµ]+)\b"#
        var found: [PromptConstraint] = []
        for match in matches(pattern, in: prompt) {
            guard let comparison = match.groups[0]?.lowercased(), let digits = match.groups[1], let value = UInt64(digits),
                  let unit = match.groups[2]?.lowercased() else { continue }
            let inclusive = comparison.hasPrefix("at")
            if isNegated(prompt, before: match.range) {
                out.skipped.append(SkippedPhrase(phrase: match.text, reason: "it is negated"))
            } else if let scale = byteUnits[unit] {
                let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
                if !overflow { found.append(PromptConstraint(kind: .minimumBytes(bytes, inclusive: inclusive), phrase: match.text)) }
            } else if let scale = timeUnits[unit] {
                let (ns, overflow) = value.multipliedReportingOverflow(by: scale)
                if !overflow { found.append(PromptConstraint(kind: .minimumDuration(ns, inclusive: inclusive), phrase: match.text)) }
            } else if ambiguousUnits.contains(unit) {
                out.skipped.append(SkippedPhrase(phrase: match.text,
                                                 reason: "\(unit) may mean powers of 1000 or of 1024; write KiB/MiB/GiB or bytes"))
            }
        }
        if found.count == 1 { out.constraints += found }
        else if found.count > 1 {
            out.skipped.append(SkippedPhrase(phrase: found.map(\.phrase).joined(separator: "; "), reason: "it states several thresholds"))
        }
    }

    // MARK: Paths

    static func paths(_ prompt: String, into out: inout Extraction) {
        let pattern = #"(?:(beginning|starting|begins|starts|under|inside|within|below)\s+(?:with\s+)?(?:the\s+)?(?:directory\s+)?)?(?<![\w/.])(/(?:[A-Za-z0-9_.+-]+/?)+)"#
        for match in matches(pattern, in: prompt) {
            guard var path = match.groups[1] else { continue }
            while path.hasSuffix(".") { path.removeLast() }
            let prefix = match.groups[0] != nil || path.hasSuffix("/")
            out.constraints.append(PromptConstraint(kind: .path(path, prefix: prefix), phrase: match.text))
        }
    }

    // MARK: Matching

    struct Match {
        var text: String
        var range: Range<String.Index>
        var groups: [String?]
    }

    static func matches(_ pattern: String, in text: String) -> [Match] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return [] }
        let whole = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: whole).compactMap { result in
            guard let range = Range(result.range, in: text) else { return nil }
            let groups = (1..<result.numberOfRanges).map { index -> String? in
                Range(result.range(at: index), in: text).map { String(text[$0]) }
            }
            return Match(text: String(text[range]), range: range, groups: groups)
        }
    }
}
