import Foundation
import KernelInfo
import Synthesis

/// Probes on this kernel that share words with the prompt, with their fields: what the Prompter
/// lists so the model names probes and fields this kernel really has.
///
/// Scoring: the prompt's words (plus everyday synonyms: "opened" → openat, "executed" → execve)
/// matched against the parts of each tracepoint's name (`syscalls:sys_enter_openat` → syscalls,
/// enter, openat), each match weighted by how rare that part is, favouring syscall entry points,
/// which most requests are about.
public struct CatalogueProbes: ProbeSuggester {
    public let kernel: KernelInfo

    public init(kernel: KernelInfo) {
        self.kernel = kernel
    }

    public func probes(for prompt: String, limit: Int) async -> [ProbeHint] {
        guard let tracefs = kernel.tracefs, limit > 0 else { return [] }
        var words = Set(Self.words(prompt))
        for word in Array(words) { words.formUnion(Self.concepts[word] ?? []) }
        guard !words.isEmpty else { return [] }
        let names = tracefs.allTracepoints
        // Rare name parts say more than common ones: weight a match by its inverse frequency.
        var frequency: [String: Int] = [:]
        let parts = names.map { Self.words($0) }
        for nameParts in parts { for part in Set(nameParts) { frequency[part, default: 0] += 1 } }
        let total = Double(max(1, names.count))
        var scored: [(name: String, score: Double)] = []
        for (name, nameParts) in zip(names, parts) {
            var score = 0.0
            for part in Set(nameParts) where words.contains(part) {
                score += log(total / Double(frequency[part] ?? 1))
            }
            guard score > 0 else { continue }
            if name.hasPrefix("syscalls:sys_enter_") { score *= 1.2 }
            if name.hasPrefix("syscalls:sys_exit_") { score *= 1.05 }
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

    /// Everyday words for what a tracepoint's name calls something else.
    static let concepts: [String: [String]] = [
        "open": ["openat", "openat2"], "opens": ["openat", "openat2"],
        "file": ["openat"], "files": ["openat"],
        "exec": ["execve", "process_exec"], "executed": ["execve", "process_exec"], "run": ["execve", "process_exec"],
        "runs": ["execve", "process_exec"], "started": ["execve", "process_exec", "process_fork"],
        "launch": ["execve"], "command": ["execve", "process_exec"], "commands": ["execve", "process_exec"],
        "program": ["execve", "process_exec"], "programs": ["execve", "process_exec"],
        "fork": ["process_fork", "clone"], "spawn": ["process_fork", "clone"], "thread": ["clone", "process_fork"],
        "exits": ["process_exit"], "terminate": ["process_exit"], "dies": ["process_exit"],
        "kill": ["kill", "signal_generate"], "killed": ["kill", "signal_deliver"], "signal": ["signal_generate", "kill"],
        "connect": ["connect", "inet_sock_set_state"], "connection": ["connect", "inet_sock_set_state"],
        "connections": ["connect", "inet_sock_set_state"], "tcp": ["inet_sock_set_state", "tcp_retransmit_skb"],
        "port": ["inet_sock_set_state", "connect", "bind"], "listen": ["listen"], "accept": ["accept", "accept4"],
        "packet": ["net_dev_xmit", "netif_receive_skb"], "packets": ["net_dev_xmit", "netif_receive_skb"],
        "disk": ["block_rq_issue", "block_rq_complete"], "block": ["block_rq_issue", "block_rq_complete"],
        "delete": ["unlinkat", "unlink"], "deleted": ["unlinkat", "unlink"], "remove": ["unlinkat", "rmdir"],
        "rename": ["renameat", "renameat2"], "renamed": ["renameat", "renameat2"],
        "context": ["sched_switch"], "switch": ["sched_switch"], "scheduled": ["sched_switch", "sched_wakeup"],
        "wakeup": ["sched_wakeup"], "page": ["page_fault_user"], "fault": ["page_fault_user", "page_fault_kernel"],
        "memory": ["mmap", "brk", "kmalloc"], "allocation": ["kmalloc", "mm_page_alloc"],
        "ptrace": ["ptrace"], "mount": ["mount"], "setuid": ["setuid"], "read": ["read"], "write": ["write"],
    ]

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
        "all", "any", "from", "into", "per", "log", "count", "trace", "sys", "enter",
    ]
}
