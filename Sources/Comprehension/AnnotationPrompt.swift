import BpftraceSyntax
import Contracts
import LLM

/// The messages that ask an LLM for annotations.
///
/// The reply format is a bpftrace-shaped block, one probe header per probe holding only
/// `assume`/`assert` statements, because the same parser that reads programs reads it: no
/// second grammar to get wrong, and a malformed line can be dropped on its own.
enum AnnotationPrompt {
    static let fenceTag = "annotations"

    static let system = """
        You are the Comprehension Engine of Ken, which turns plain-English requests into bpftrace \
        programs. You annotate a candidate program with Hoare-logic conditions that a symbolic \
        verifier (Z3) then checks against the program:
        - assume(EXPR); states a fact about kernel inputs the program may rely on. Take assumes \
        only from the kernel contracts given (types, ranges, conventions). Never assume what the \
        request demands.
        - assert(EXPR, "why"); states a property the user's request demands of the values the \
        program computes or prints, at the end of the probe: filters, units, byte order, signal \
        numbers, thresholds. An assert must depend on what the program computes; one that holds \
        whatever the program does (a tautology, or a restatement of an assume) is rejected.
        Expressions use bpftrace syntax: the probe's $variables (only ones the probe assigns), \
        args fields, builtins (pid, comm, retval, ...), and pure functions such as bswap(). \
        Memory behind a pointer (str(p), p->field, *p) is read anew each time it is written, and \
        may have changed; maps may be written by other probes: name the $variable the program \
        read the value into rather than reading it again. \
        Never change, add or remove program statements.
        """

    static func request(prompt: String, candidate: String, contracts: [(probe: String, text: String)],
                        builtinFacts: [ContractFact], existing: [Annotation]) -> [ChatMessage] {
        var text = "The user's request:\n\(prompt)\n\nThe candidate program:\n```bpftrace\n\(candidate.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n"
        if contracts.isEmpty {
            text += "\nNo kernel contracts are known for these probes.\n"
        } else {
            text += "\nKernel contracts of the probes it uses:\n"
            for entry in contracts {
                text += "\n" + entry.text + "\n"
            }
        }
        if !builtinFacts.isEmpty {
            text += "\nFacts about builtins:\n"
            for fact in builtinFacts {
                text += "- \(ContractText.subjectText(fact.subject)) in \(fact.range): \(fact.rationale)\n"
            }
        }
        if !existing.isEmpty {
            text += "\nKen already added these assumes from the contracts (do not repeat them):\n"
            for annotation in existing { text += "- \(annotation.probe): \(annotation.text)\n" }
        }
        text += """

            Reply with exactly one fenced code block tagged `\(fenceTag)`. Inside it, for each \
            probe you annotate, write the probe's attach point exactly as in the candidate, then \
            braces holding only assume(...); and assert(..., "why"); statements, one per line:
            ```\(fenceTag)
            tracepoint:syscalls:sys_exit_openat {
              assume(args.ret >= -4095);
              assert($fd >= 0, "only successful opens are counted");
            }
            ```
            """
        return [.system(system), .user(text)]
    }

    /// The follow-up after the verifier rejected annotations as vacuous.
    static func regeneration(rejected: [(annotation: Annotation, reason: String)]) -> ChatMessage {
        var text = "The symbolic verifier rejected these annotations because they prove nothing about the program:\n"
        for item in rejected {
            text += "- \(item.annotation.probe): \(item.annotation.text) — \(item.reason)\n"
        }
        text += """

            Write the complete annotations block again (same format, one fenced `\(fenceTag)` \
            block), replacing the rejected annotations with ones whose truth depends on what the \
            program computes, or leaving them out when the request demands nothing more.
            """
        return .user(text)
    }
}
