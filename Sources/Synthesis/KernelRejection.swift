import Foundation

/// A kernel verifier (or bpftrace) rejection, summarised into a cause and a hint.
///
/// The raw verifier log is long and mostly register states; an LLM fixes a program faster when the
/// first thing it reads is the cause in words and what usually fixes it. The raw log is kept too
/// and goes into the prompt below the summary, intact.
public struct KernelRejection: Sendable, Equatable, Codable {
    public enum Cause: String, Sendable, Codable, CaseIterable {
        case unboundedLoop = "unbounded loop"
        case invalidMemoryAccess = "invalid memory access"
        case helperNotAllowed = "helper not allowed for the program type"
        case programTooComplex = "program too large or too complex"
        case uninitializedRegister = "read of an uninitialized register or stack slot"
        case stackTooLarge = "stack limit exceeded"
        case missingProbe = "probe does not exist on this kernel"
        case permission = "not permitted"
        case bpftraceError = "bpftrace rejected the script"
        case other = "rejected by the kernel verifier"
    }

    public var cause: Cause
    public var hint: String
    /// The line of the log that decided the cause, when one did.
    public var evidence: String?

    public init(cause: Cause, hint: String, evidence: String?) {
        self.cause = cause
        self.hint = hint
        self.evidence = evidence
    }

    /// Classifies a verifier log or bpftrace's error output.
    ///
    /// The patterns are the kernel verifier's own messages (kernel/bpf/verifier.c) and
    /// bpftrace's `ERROR:` lines; the first matching rule, in order of specificity, wins.
    public static func summarise(_ log: String) -> KernelRejection {
        let lines = log.split(whereSeparator: \.isNewline).map(String.init)
        for rule in rules {
            if let line = lines.first(where: { rule.matches($0) }) {
                return KernelRejection(cause: rule.cause, hint: rule.hint,
                                       evidence: line.trimmingCharacters(in: .whitespaces))
            }
        }
        let errorLine = lines.first { $0.contains("ERROR") || $0.contains("error") }
        return KernelRejection(cause: .other,
                               hint: "Read the verifier log below from its last lines upward: the failing instruction is last.",
                               evidence: errorLine?.trimmingCharacters(in: .whitespaces))
    }

    /// The summary as it goes into a prompt: cause, evidence, hint.
    public var rendered: String {
        var text = "kernel verifier: \(cause.rawValue)"
        if let evidence { text += "\n  at: \(evidence)" }
        text += "\n  hint: \(hint)"
        return text
    }

    private struct Rule: Sendable {
        var cause: Cause
        var needles: [String]
        var hint: String
        func matches(_ line: String) -> Bool {
            needles.contains { line.localizedCaseInsensitiveContains($0) }
        }
    }

    private static let rules: [Rule] = [
        Rule(cause: .missingProbe,
             needles: ["No probes to attach", "Could not read symbols", "is not a valid tracepoint",
                       "Tracepoint not found", "No such file or directory: tracepoint", "does not exist"],
             hint: "Use a probe that exists on this kernel; the candidate probes listed above do."),
        Rule(cause: .unboundedLoop,
             needles: ["back-edge from insn", "infinite loop detected", "unbounded loop", "loop is not bounded"],
             hint: "Bound every loop: use unroll(N) or a for loop over a constant range; no while without a constant bound."),
        Rule(cause: .helperNotAllowed,
             needles: ["unknown func bpf_", "helper call is not allowed", "cannot call GPL-restricted function",
                       "program of this type cannot use helper", "is not allowed in this program type"],
             hint: "That helper is not available to this probe type: choose another probe kind or another builtin."),
        Rule(cause: .programTooComplex,
             needles: ["BPF program is too large", "processed 1000001 insn", "too many states",
                       "The sequence of 8193 jumps is too complex", "complexity limit"],
             hint: "Make the program smaller: fewer unrolled iterations, fewer nested branches, split work across probes."),
        Rule(cause: .stackTooLarge,
             needles: ["stack limit", "combined stack size", "invalid stack off=", "Looks like the BPF stack limit"],
             hint: "Use fewer or smaller local strings and tuples; keep big values in maps instead of on the stack."),
        Rule(cause: .uninitializedRegister,
             needles: ["!read_ok", "invalid read from stack", "invalid indirect read from stack"],
             hint: "Initialise every variable on every path before reading it."),
        Rule(cause: .invalidMemoryAccess,
             needles: ["invalid mem access", "invalid access to map value", "invalid access to packet",
                       "R1 type=scalar expected", "dereference of modified ctx ptr", "invalid bpf_context access",
                       "pointer arithmetic on", "math between", "misaligned"],
             hint: "Read kernel memory through fields bpftrace can type (args->f, casts to a struct pointer), and user memory with str()/buf(); check pointers before dereferencing."),
        Rule(cause: .permission,
             needles: ["Operation not permitted", "EPERM", "Permission denied"],
             hint: "The agent lacks a privilege for this program type on this kernel (e.g. LSM/fentry refused): try a tracepoint."),
        Rule(cause: .bpftraceError,
             needles: ["ERROR:", "syntax error", "Unknown identifier", "Unknown function", "Unknown struct"],
             hint: "Fix what bpftrace's message names; it gives the line and column of the problem."),
    ]
}
