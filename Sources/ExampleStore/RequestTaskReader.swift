import Foundation
import PromptAsserts

/// Reads the task model of an English request, mechanically: fixed word lists and patterns,
/// nothing inferred. A phrase it does not know adds nothing, and an ambiguous one (two process
/// names, a time threshold with a unit the example may not share) adds a filter no example can
/// fill, so the library declines instead of answering a different task.
public enum RequestTaskReader {
    public static func task(of request: String) -> TaskModel {
        let words = Words(request)
        var model = TaskModel()
        model.action = action(words)
        model.events = events(words, action: model.action)
        model.filters = filters(words, prompt: request, action: model.action)
        if model.action == .print || model.action == .act {
            model.outputs = outputs(words)
        } else {
            model.keys = keys(words)
        }
        (model.periodic, model.intervalSeconds) = period(words)
        return model
    }

    // MARK: The request as words.

    /// The request split into words, each kept as written, lowercased, and stemmed, with stop
    /// words marked so phrases can skip them.
    struct Words {
        var raw: [String] = []
        var lower: [String] = []
        var stems: [String] = []
        /// The word was written as a call (`kill()`, `close()`): a syscall, not a verb.
        var called: [Bool] = []
        /// Stems without stop words, for phrase matching.
        var content: [String] = []

        init(_ text: String) {
            for piece in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
                var token = String(piece)
                var call = false
                if let paren = token.range(of: "()") { token.removeSubrange(paren); call = true }
                token = token.trimmingCharacters(in: CharacterSet(charactersIn: ",.;:!?()\"'`"))
                if token.hasPrefix("/") { token = token.trimmingCharacters(in: CharacterSet(charactersIn: ",.;:!?)\"'")) }
                guard !token.isEmpty else { continue }
                // "sh-or-bash", "user-space": keep hyphenated tokens whole, they are names.
                raw.append(token)
                let lowered = token.lowercased()
                lower.append(lowered)
                stems.append(lowered.allSatisfy(\.isLetter) ? Tokenizer.stem(lowered) : lowered)
                called.append(call)
            }
            content = stems.filter { !RequestTaskReader.fillers.contains($0) }
        }

        func has(_ word: String) -> Bool {
            let lowered = word.lowercased()
            return stems.contains(lowered.allSatisfy(\.isLetter) ? Tokenizer.stem(lowered) : lowered)
        }
        func hasAny(_ list: [String]) -> Bool { list.contains(where: has) }
        /// Consecutive stems, ignoring filler words: `phrase("page cache")`.
        func phrase(_ text: String) -> Bool {
            let wanted = text.split(separator: " ").map { word -> String in
                let lowered = word.lowercased()
                return lowered.allSatisfy(\.isLetter) ? Tokenizer.stem(lowered) : lowered
            }.filter { !RequestTaskReader.fillers.contains($0) }
            guard !wanted.isEmpty, content.count >= wanted.count else { return false }
            for start in 0...(content.count - wanted.count) where Array(content[start..<start + wanted.count]) == wanted {
                return true
            }
            return false
        }
        func index(of stem: String) -> Int? { stems.firstIndex(of: stem) }
    }

    /// Words skipped inside phrases ("directories being deleted" is "directory delet").
    static let fillers: Set<String> = [
        "a", "an", "the", "is", "are", "be", "being", "been", "of", "to", "its", "their", "it", "that", "which",
        "get", "gets", "got", "up", "out", "into", "onto", "was", "were", "wa", "wer",
    ]

    // MARK: Action.

    static func action(_ words: Words) -> TaskAction {
        if acts(words) { return .act }
        if words.phrase("how long") || words.hasAny(["latency", "latencie", "duration", "stall", "lifetime", "spend", "spent"])
            || words.phrase("time spent") { return .latency }
        if words.hasAny(["histogram", "distribution"]) { return .histogram }
        let bytes = words.hasAny(["byte", "bytes"])
        if words.has("sum") || words.has("throughput") || (bytes && (words.has("total") || words.has("most") || words.phrase("how much"))) {
            return .sum
        }
        if words.has("count") || words.phrase("how many") || words.phrase("how often") || words.phrase("number of")
            || words.has("most") || words.has("frequently") || words.has("top") || words.has("total") || words.has("tally") {
            return .count
        }
        return .print
    }

    /// "kill it", "terminate it with SIGTERM", "send SIGSTOP to", "run logger".
    static func acts(_ words: Words) -> Bool {
        for (position, stem) in words.stems.enumerated() where !words.called[position] {
            let next = position + 1 < words.stems.count ? words.stems[position + 1] : ""
            switch stem {
            case "kill" where killObjects.contains(next) && !(position > 0 && ["to", "oom"].contains(words.lower[position - 1])):
                return true
            case "terminat" where ["it", "them", "the", "any"].contains(next): return true
            case "freez": return true
            case "send" where next.hasPrefix("sig") && next != "signal" && next != "signals": return true
            default: break
            }
        }
        return words.phrase("run logger") || words.phrase("run command")
    }

    /// What follows "kill" when it is an order ("kill it", "kill any process named x").
    static let killObjects: Set<String> = [
        "it", "them", "any", "the", "a", "every", "all", "process", "proces", "programs", "program", "that", "anything",
    ]

    // MARK: Events.

    /// A family and the phrases (stems, fillers skipped) that name it. `weak` phrases count only
    /// when no other event is named ("starts" is an exec unless a connection starts).
    struct EventRule {
        var family: String
        var phrases: [String]
        var weak: [String] = []
        var suppresses: [String] = []
    }

    static let eventRules: [EventRule] = [
        EventRule(family: "rmdir", phrases: ["rmdir", "directory delet", "directory remov", "remov directory", "delet directory"],
                  suppresses: ["unlink"]),
        EventRule(family: "mkdir", phrases: ["mkdir", "directory creat", "creat directory", "directory creation"]),
        EventRule(family: "chdir", phrases: ["chdir", "working directory"], suppresses: ["rename"]),
        EventRule(family: "sleep", phrases: ["clock_nanosleep", "nanosleep", "start sleep", "go sleep", "goes sleep", "fall asleep"],
                  suppresses: ["exec"]),
        EventRule(family: "cgroup-create", phrases: ["cgroup"], suppresses: ["mkdir"]),
        EventRule(family: "open", phrases: ["open", "openat", "opening"]),
        EventRule(family: "exec", phrases: ["exec", "execut", "execution", "execve", "launch", "spawn"], weak: ["start", "run", "begin"]),
        EventRule(family: "exit", phrases: ["exit", "exit_group", "finish"], weak: ["die"]),
        EventRule(family: "fork", phrases: ["fork", "clone", "clone3"]),
        EventRule(family: "unlink", phrases: ["unlink", "delet", "deletion", "remov"]),
        EventRule(family: "rename", phrases: ["renam", "mv", "mov"]),
        EventRule(family: "chmod", phrases: ["chmod", "permission"]),
        EventRule(family: "chown", phrases: ["chown", "ownership"]),
        EventRule(family: "read", phrases: ["read"]),
        EventRule(family: "write", phrases: ["write", "written"]),
        EventRule(family: "close", phrases: ["close"]),
        EventRule(family: "fsync", phrases: ["fsync"]),
        EventRule(family: "truncate", phrases: ["truncat"]),
        EventRule(family: "ftruncate", phrases: ["ftruncate"], suppresses: ["truncate"]),
        EventRule(family: "symlink", phrases: ["symlink", "symbolic link"]),
        EventRule(family: "link", phrases: ["hard link", "linkat"]),
        EventRule(family: "signal-send", phrases: ["signal", "sigusr1", "sigusr2", "sighup", "sigint", "sigterm", "sigkill"]),
        EventRule(family: "tcp-connect", phrases: ["tcp connection", "tcp connect", "outgo connection", "outgoing connection", "outgo tcp"]),
        EventRule(family: "tcp-accept", phrases: ["incom connection", "incoming connection", "incoming tcp", "accept connection", "accepted"]),
        EventRule(family: "connect", phrases: ["connect"]),
        EventRule(family: "listen", phrases: ["listen"]),
        EventRule(family: "bind", phrases: ["bind"]),
        EventRule(family: "tcp-state", phrases: ["tcp state", "state chang"]),
        EventRule(family: "tcp-retransmit", phrases: ["retransmit", "retransmission"]),
        EventRule(family: "tcp-reset", phrases: ["reset"]),
        EventRule(family: "packet-drop", phrases: ["drop packet", "dropp packet", "packet drop", "dropp network packet"]),
        EventRule(family: "packet-receive", phrases: ["receiv packet", "packet receiv", "rx packet"]),
        EventRule(family: "packet-transmit", phrases: ["transmit", "xmit", "packet leav", "tx packet"]),
        EventRule(family: "block-request", phrases: ["disk", "block i/o", "block request", "block device"]),
        EventRule(family: "block-bio-queue", phrases: ["block i/o queu", "queu block"], suppresses: ["block-request"]),
        EventRule(family: "preemption", phrases: ["preemption", "preempt", "preempted", "involuntary"],
                  suppresses: ["context-switch"]),
        EventRule(family: "context-switch", phrases: ["context switch", "switch to"]),
        EventRule(family: "wakeup", phrases: ["woken", "wak", "wakeup"]),
        EventRule(family: "migrate", phrases: ["migrat"]),
        EventRule(family: "cpu-sample", phrases: ["profil", "sampl"]),
        EventRule(family: "oom", phrases: ["oom", "out-of-memory", "out memory"]),
        EventRule(family: "comm-change", phrases: ["chang name", "chang its name", "comm chang"], suppresses: ["rename"]),
        EventRule(family: "page-cache-add", phrases: ["page cache"]),
        EventRule(family: "kmalloc", phrases: ["kmalloc"]),
        EventRule(family: "page-alloc", phrases: ["page allocation"]),
        EventRule(family: "page-fault", phrases: ["page fault"]),
        EventRule(family: "direct-reclaim", phrases: ["reclaim"]),
        EventRule(family: "syscall", phrases: ["system call", "syscall"]),
        EventRule(family: "irq", phrases: ["interrupt", "irq"]),
        EventRule(family: "hrtimer", phrases: ["hrtimer", "timer"]),
        EventRule(family: "capability", phrases: ["capability"]),
        EventRule(family: "writeback", phrases: ["writeback"]),
        EventRule(family: "bpf", phrases: ["bpf"]),
        EventRule(family: "mount", phrases: ["mount"]),
        EventRule(family: "namespace", phrases: ["namespac"]),
        EventRule(family: "setuid", phrases: ["setuid", "user id", "setresuid"]),
        EventRule(family: "setgid", phrases: ["setgid", "group id"]),
        EventRule(family: "sethostname", phrases: ["hostnam"]),
        EventRule(family: "perf_event_open", phrases: ["perf event"]),
        EventRule(family: "ptrace", phrases: ["ptrace"]),
        EventRule(family: "chroot", phrases: ["chroot"]),
        EventRule(family: "memfd_create", phrases: ["memfd", "memfd_create", "in-memory fil"]),
        EventRule(family: "mmap", phrases: ["mmap", "memory mapping"]),
        EventRule(family: "munmap", phrases: ["munmap"], suppresses: ["mmap"]),
        EventRule(family: "mprotect", phrases: ["mprotect"]),
        EventRule(family: "brk", phrases: ["brk", "heap growth"]),
        EventRule(family: "ioctl", phrases: ["ioctl"]),
        EventRule(family: "socket", phrases: ["creat socket", "socket creat", "sockets created"]),
        EventRule(family: "sendto", phrases: ["sendto"]),
        EventRule(family: "recvfrom", phrases: ["recvfrom"]),
        EventRule(family: "udp-queue-fail", phrases: ["could not be queued", "receive buffer full", "buffer full", "buffer is full"],
                  suppresses: ["packet-drop"]),
        EventRule(family: "bash-readline", phrases: ["readline", "typed"]),
    ]

    /// Syscalls a request may name outright; each is its own family unless `EventFamilies` groups it.
    static let namedSyscalls: Set<String> = [
        "setpriority", "getpriority", "sched_setaffinity", "sched_yield", "wait4", "waitid", "mlock", "mlockall",
        "munlock", "madvise", "prctl", "umask", "setgid", "setuid", "recvmsg", "sendmsg", "shutdown", "setsockopt",
        "getsockopt", "exit_group", "utimensat", "futimesat", "chdir", "fchdir", "pipe", "pipe2", "dup", "dup2",
        "dup3", "epoll_wait", "poll", "select", "futex", "getrandom", "nanosleep", "accept", "accept4",
        "sched_setscheduler", "setns", "unshare", "seccomp", "personality", "sync", "syncfs", "fallocate",
        "splice", "sendfile", "inotify_add_watch", "fanotify_mark", "kexec_load", "init_module",
        "finit_module", "delete_module", "reboot", "swapon", "swapoff", "settimeofday", "clock_settime",
    ]

    static func events(_ words: Words, action: TaskAction) -> Set<String> {
        var strong: Set<String> = []
        var weak: Set<String> = []
        var suppressed: Set<String> = []
        for rule in eventRules {
            if action == .act && rule.family == "signal-send" { continue }
            if rule.phrases.contains(where: words.phrase) {
                strong.insert(rule.family)
                suppressed.formUnion(rule.suppresses)
            } else if rule.weak.contains(where: words.phrase) {
                weak.insert(rule.family)
            }
        }
        for (position, word) in words.lower.enumerated() where namedSyscalls.contains(word) || words.called[position] {
            strong.insert(EventFamilies.ofSyscall(word))
        }
        // "stat" is matched as written: its stem is also the stem of "state".
        if words.lower.contains(where: { ["stat", "stats", "statx", "fstat", "lstat", "newfstatat"].contains($0) }) {
            strong.insert("stat")
        }
        strong.subtract(suppressed)
        // "read syscall latency": the generic word yields to the syscall it names.
        if strong.count > 1 { strong.remove("syscall") }
        if strong.contains("tcp-accept") { strong.remove("accept") }
        // "connect" is the syscall; a TCP connection is a narrower event and wins.
        if strong.contains("tcp-connect") || strong.contains("tcp-accept") { strong.remove("connect") }
        if strong.contains("tcp-accept") { strong.remove("tcp-connect") }
        return strong.isEmpty ? weak.subtracting(suppressed) : strong
    }

    // MARK: Grouping and outputs.

    static let keyNouns: [String: TaskField] = [
        "process": .process, "program": .process, "command": .process, "task": .process, "application": .process,
        "pid": .process, "comm": .process, "user": .user, "uid": .user, "cpu": .cpu, "device": .device,
        "disk": .device, "interface": .device, "nic": .device, "type": .type, "syscall": .syscall,
        "signal": .signal, "reason": .reason, "error": .error, "errno": .error, "function": .function,
        "callback": .function, "state": .state, "family": .type, "capability": .type, "stack": .stack,
        "request": .command, "port": .port,
    ]

    static func keys(_ words: Words) -> Set<TaskField> {
        var keys: Set<TaskField> = []
        let cues: Set<String> = ["per", "by", "each", "which", "every"]
        for (position, stem) in words.stems.enumerated() where cues.contains(stem) {
            // "by process and error number": the nouns up to the next verb-like word.
            var next = position + 1
            while next < words.stems.count, next <= position + 5 {
                let word = words.stems[next]
                if let field = keyNouns[word] ?? keyNouns[Tokenizer.stem(word)] {
                    // "which processes … the most" groups; "each program" after "for" groups.
                    keys.insert(field)
                } else if !["and", "its", "the", "receiving", "sending", "drop", "system", "call", "address", "number", "id"].contains(word) {
                    break
                }
                next += 1
            }
        }
        if words.phrase("system call number") || words.phrase("syscall number") { keys.insert(.syscall) }
        return keys
    }

    static func outputs(_ words: Words) -> Set<TaskField> {
        var fields: Set<TaskField> = []
        let table: [(String, TaskField)] = [
            ("pid", .process), ("process id", .process), ("program", .process), ("process", .process),
            ("who", .process), ("caller", .process), ("nam", .process), ("path", .path), ("fil", .path),
            ("filenam", .path), ("destination", .path), ("size", .size), ("byte", .size), ("length", .size),
            ("port", .port), ("address", .address), ("signal number", .signal), ("which signal", .signal),
            ("error", .error), ("errno", .error), ("status code", .error), ("exit code", .error), ("mode", .mode),
            ("octal", .mode), ("file descriptor", .fd), ("priority", .priority), ("nic valu", .priority),
            ("backlog", .backlog), ("which cpu", .cpu), ("cpu", .cpu), ("uid", .user), ("user", .user),
            ("state", .state), ("function", .function),
        ]
        for (phrase, field) in table where words.phrase(phrase) { fields.insert(field) }
        return fields
    }

    // MARK: Filters.

    /// The request's filters. Process names, pids, uids, observed signals, ports, byte bounds and
    /// paths are the constraints `PromptAsserts.ConstraintExtractor` reads — the same reading the
    /// Comprehension Engine turns into asserts, so what is filled into an example is what those
    /// asserts then prove. A constraint it left out for a reason (negated, two names, an
    /// ambiguous unit) makes the request unanswerable here rather than answered without it.
    static func filters(_ words: Words, prompt: String, action: TaskAction) -> [TaskFilter] {
        var filters: [TaskFilter] = []
        var names: Set<String> = []
        let extraction = ConstraintExtractor.extract(prompt)
        for constraint in extraction.constraints {
            switch constraint.kind {
            case .processName(let list):
                if list.count == 1, let name = list.first { names.insert(name) } else { names.insert("ambiguous") }
            case .pid(let value): filters.append(TaskFilter(.pid, String(value)))
            case .uid(let value): filters.append(TaskFilter(.uid, String(value)))
            case .signal(let number, _) where action != .act:
                filters.append(TaskFilter(.signal, SignalNames.name(ofNumber: Int(number))))
            case .signal: break
            case .port(let value, _): filters.append(TaskFilter(.port, String(value)))
            case .minimumBytes(let value, _): filters.append(TaskFilter(.threshold, String(value)))
            case .minimumDuration: filters.append(TaskFilter(.flags, "time bound: \(constraint.phrase)"))
            case .path(let path, let prefix):
                // "run from /tmp": a place things come from is a prefix even without a slash.
                let from = words.lower.firstIndex(of: path.lowercased()).map { $0 > 0 && ["from", "in"].contains(words.lower[$0 - 1]) } ?? false
                filters.append(TaskFilter(prefix || from ? .pathPrefix : .path, path))
            }
        }
        for skipped in extraction.skipped { filters.append(TaskFilter(.flags, "\(skipped.phrase): \(skipped.reason)")) }
        let lower = words.lower
        for (i, word) in lower.enumerated() {
            let next = i + 1 < lower.count ? lower[i + 1] : ""
            // The signal an action sends ("kill it with SIGKILL", "signal 9").
            if action == .act {
                if word == "signal", let value = Int(next) { filters.append(TaskFilter(.signal, SignalNames.name(ofNumber: value))) }
                if word.hasPrefix("sig"), let name = SignalNames.canonical(word) { filters.append(TaskFilter(.signal, name)) }
            }
            // Open flags (O_CREAT, O_TRUNC): conditions no shipped example parameterises.
            if words.raw[i].hasPrefix("O_"), words.raw[i].count > 2 { filters.append(TaskFilter(.flags, words.raw[i])) }
            // Literal text to print: an upper-case word that is not an acronym.
            let rawWord = words.raw[i]
            if rawWord.count >= 3, rawWord.contains(where: \.isLetter), rawWord == rawWord.uppercased(),
               !acronyms.contains(rawWord), !rawWord.hasPrefix("SIG"), !rawWord.hasPrefix("/"),
               !rawWord.hasPrefix("O_"), !rawWord.hasPrefix("E") || rawWord.count < 4 || rawWord.contains("-") {
                filters.append(TaskFilter(.literalOutput, rawWord))
            }
        }
        names.formUnion(unplacedCommands(words, placed: names))
        if names.count == 1, let name = names.first, name != "ambiguous" {
            filters.append(TaskFilter(.process, name))
        } else if !names.isEmpty {
            filters.append(TaskFilter(.flags, "process names \(names.sorted())"))
        }
        if words.phrase("to root") { filters.append(TaskFilter(.uid, "0")) }
        if words.hasAny(["fail", "failed", "failur", "denied", "unsuccessful", "non-zero", "nonzero"]) || words.phrase("with an error")
            || words.phrase("complete with error") {
            filters.append(TaskFilter(.failure))
        }
        if let threshold = threshold(words) { filters.append(threshold) }
        if action == .act, !filters.contains(where: { $0.kind == .signal }) {
            if words.has("kill") { filters.append(TaskFilter(.signal, "SIGKILL")) }
            else if words.has("terminat") { filters.append(TaskFilter(.signal, "SIGTERM")) }
            else if words.has("freez") || words.has("stop") { filters.append(TaskFilter(.signal, "SIGSTOP")) }
        }
        if words.phrase("for writ") { filters.append(TaskFilter(.flags, "write")) }
        if words.phrase("to zero") || words.phrase("zero length") { filters.append(TaskFilter(.flags, "zero-length")) }
        if words.phrase("memory executabl") || words.phrase("executable memory") { filters.append(TaskFilter(.flags, "executable")) }
        // A file system named: no shipped example is specific to one, and a generic program is
        // a different task.
        for word in words.lower where fileSystems.contains(word) { filters.append(TaskFilter(.flags, "file system \(word)")) }
        return filters
    }

    static let fileSystems: Set<String> = [
        "xfs", "ext4", "ext3", "btrfs", "nfs", "zfs", "tmpfs", "overlayfs", "f2fs", "fuse", "cifs", "smb", "vfat",
    ]

    /// Programs a request may name without a pattern that places them ("when mv moves", "like
    /// touch does"): a name in an unknown role makes the request ambiguous, never guessed.
    static let knownCommands: Set<String> = [
        "cat", "tee", "mv", "cp", "rm", "ls", "dd", "vim", "vi", "nano", "bash", "sh", "zsh", "python", "python3",
        "perl", "ruby", "node", "java", "env", "touch", "head", "tail", "less", "more", "sleep", "seq", "uname",
        "nginx", "sshd", "ssh", "curl", "wget", "git", "gcc", "ping", "docker", "mysqld",
        "postgres", "redis-server", "systemd", "cron", "tar", "gzip", "find", "grep", "awk", "sed", "chmod",
        "chown", "mount", "kill", "top", "ps", "false", "true", "yes", "date", "echo",
    ]

    static func unplacedCommands(_ words: Words, placed: Set<String>) -> Set<String> {
        var found: Set<String> = []
        for (i, word) in words.lower.enumerated() where knownCommands.contains(word) && !placed.contains(word) {
            let previous = i > 0 ? words.lower[i - 1] : ""
            let next = i + 1 < words.lower.count ? words.lower[i + 1] : ""
            if eventVerbs.contains(word) || (previous == "to" && word == "sleep") { continue }
            // Words that are also everyday English count only where a program name would stand.
            if everydayCommands.contains(word), !commandContext.contains(previous), !commandContext.contains(next) { continue }
            found.insert(word)
        }
        return found
    }

    /// Command names that are also the name of an event ("kill", "mount"): read as the event.
    static let eventVerbs: Set<String> = ["kill", "mount", "chmod", "chown"]
    static let everydayCommands: Set<String> = [
        "cat", "head", "tail", "less", "more", "sleep", "touch", "make", "find", "top", "true", "false", "yes",
        "date", "echo", "env", "seq", "ps",
    ]
    static let commandContext: Set<String> = [
        "when", "whenever", "like", "while", "if", "by", "named", "called", "the", "as", "does", "is", "runs",
        "command", "program", "utility", "process", "processes",
    ]

    static let acronyms: Set<String> = [
        "TCP", "UDP", "PID", "PIDS", "CPU", "CPUS", "OOM", "IRQ", "BPF", "LISTEN", "RAM", "MIB", "KIB", "GIB",
        "NIC", "DNS", "IPV4", "IPV6", "ENOENT", "EACCES", "RWBS", "SYN", "ACK", "RST", "USB", "SSD", "NVME",
        "UID", "GID", "LSM", "API", "NFS", "I/O", "IO", "ID", "IDS", "TTY", "SSH", "VFS", "MMAP", "DMA", "NUMA",
    ]

    /// "the first 10", "more than 500 times": a bound on a count. Byte and time bounds are
    /// ConstraintExtractor's (a time bound depends on the unit the example measures in, so it
    /// gives an unfillable condition rather than a guess).
    static func threshold(_ words: Words) -> TaskFilter? {
        let lower = words.lower
        for (i, word) in lower.enumerated() where i + 1 < lower.count {
            // "the first 10 files": a limit on how many events are printed.
            if word == "first", let count = UInt64(lower[i + 1]) { return TaskFilter(.threshold, String(count)) }
            // "more than 500 times", "over 500 forks": a count, with no unit of size or time.
            guard ["more", "over", "above", "exceeding"].contains(word) else { continue }
            let start = lower[i + 1] == "than" ? i + 2 : i + 1
            guard start < lower.count, let count = UInt64(lower[start]) else { continue }
            let unit = start + 1 < lower.count ? lower[start + 1] : ""
            if unit == "times" || unit.hasPrefix("fork") || unit.hasPrefix("call") { return TaskFilter(.threshold, String(count)) }
        }
        return nil
    }

    // MARK: Period.

    /// "every second", "once a second", "every 5 seconds", "per second".
    static func period(_ words: Words) -> (Bool, UInt64?) {
        let lower = words.lower
        for (i, word) in lower.enumerated() where word == "second" || word == "seconds" || word == "sec" {
            let previous = i > 0 ? lower[i - 1] : ""
            let before = i > 1 ? lower[i - 2] : ""
            if ["every", "per", "each"].contains(previous) || (previous == "a" && ["once", "every"].contains(before)) {
                return (true, 1)
            }
            if let count = UInt64(previous), ["every", "each"].contains(before) { return (true, count) }
            if previous == "one", before == "every" { return (true, 1) }
        }
        return (false, nil)
    }
}

/// Signal names and numbers (Linux x86-64 and arm64 share these).
public enum SignalNames {
    static let numbers: [String: Int] = [
        "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7, "SIGFPE": 8,
        "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
        "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20,
    ]

    /// "sigkill", "SIGKILL" → "SIGKILL"; nil for an unknown name.
    public static func canonical(_ word: String) -> String? {
        let upper = word.uppercased()
        return numbers[upper] != nil ? upper : nil
    }

    /// 9 → "SIGKILL"; an unknown number stays a number.
    public static func name(ofNumber number: Int) -> String {
        numbers.first { $0.value == number }?.key ?? String(number)
    }

    public static func number(of name: String) -> Int? { numbers[name] }
}
