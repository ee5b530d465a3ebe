/// What one synthesis task asks for.
public struct SynthesisRequest: Sendable, Equatable {
    public var prompt: String
    public var name: String
    public var attach: Bool
    public var maxAttempts: Int
    public var hints: [String]
    /// Refuse to attach a program that is only checked (nothing proven).
    public var requireProof: Bool
    public init(prompt: String, name: String = "", attach: Bool = false, maxAttempts: Int = 3, hints: [String] = [],
                requireProof: Bool = false) {
        self.prompt = prompt
        self.name = name
        self.attach = attach
        self.maxAttempts = maxAttempts
        self.hints = hints
        self.requireProof = requireProof
    }
}

/// A prompt→program pair shown to the model as a worked example.
public struct FewShotExample: Sendable, Equatable {
    public var id: String
    public var prompt: String
    public var program: String
    public var similarity: Double
    public init(id: String, prompt: String, program: String, similarity: Double) {
        self.id = id
        self.prompt = prompt
        self.program = program
        self.similarity = similarity
    }
}

/// A probe that exists on this kernel and looks relevant, with its fields.
public struct ProbeHint: Sendable, Equatable {
    public var probe: String
    public var fields: [String]
    public init(probe: String, fields: [String]) {
        self.probe = probe
        self.fields = fields
    }
}

/// One piece of feedback from an earlier attempt of the same task.
public struct Feedback: Sendable, Equatable {
    public var attempt: Int
    public var stage: String
    public var message: String
    public init(attempt: Int, stage: String, message: String) {
        self.attempt = attempt
        self.stage = stage
        self.message = message
    }
}

/// Everything the Prompter puts in front of the model for one attempt.
public struct PromptContext: Sendable, Equatable {
    public var request: SynthesisRequest
    public var examples: [FewShotExample]
    public var probes: [ProbeHint]
    /// Every error of this task so far, from every loop, oldest first.
    public var feedback: [Feedback]
    /// The installed bpftrace, e.g. "0.17.0": the dialect the program must be written in.
    public var bpftraceVersion: String
    public init(request: SynthesisRequest, examples: [FewShotExample], probes: [ProbeHint],
                feedback: [Feedback], bpftraceVersion: String) {
        self.request = request
        self.examples = examples
        self.probes = probes
        self.feedback = feedback
        self.bpftraceVersion = bpftraceVersion
    }
}

/// Builds the chat messages for one attempt (the paper's Prompter, §3.2).
///
/// Fixed instructions first, then the retrieved examples as user/assistant turns (few-shot), then
/// the request with the probes this kernel has and every error of the task so far, oldest first,
/// so the model sees the whole history of what went wrong and never repeats a fixed mistake.
public struct Prompter: Sendable {
    public var maxExamples: Int
    public var maxProbes: Int

    public init(maxExamples: Int = 4, maxProbes: Int = 12) {
        self.maxExamples = maxExamples
        self.maxProbes = maxProbes
    }

    public func messages(for context: PromptContext) -> [PromptMessage] {
        var messages = [PromptMessage(role: .system, content: instructions(bpftraceVersion: context.bpftraceVersion))]
        for example in context.examples.prefix(maxExamples) {
            messages.append(PromptMessage(role: .user, content: example.prompt))
            messages.append(PromptMessage(role: .assistant, content: "```bpftrace\n\(example.program.trimmedTrailingNewlines)\n```"))
        }
        messages.append(PromptMessage(role: .user, content: request(context)))
        return messages
    }

    /// The fixed instructions: the output format and the rules a kernel will enforce anyway.
    public func instructions(bpftraceVersion: String) -> String {
        """
        You write bpftrace programs for Linux from a plain-English request. Answer with exactly one \
        program in a fenced code block marked ```bpftrace and nothing else after it.
        Rules:
        - Target bpftrace \(bpftraceVersion). Use tracepoints when one fits; use only probes and fields \
        that the request lists as available on this kernel.
        - Read tracepoint fields as args->field. Read user-space strings with str(), kernel \
        structs through casts like (struct sock *)arg0.
        - Network fields typed __be16/__be32 are in network byte order: convert with bswap() before \
        printing or comparing them as numbers.
        - Every loop must be bounded (unroll(N) or a constant range). Keep programs small.
        - Actions like signal() and system() are allowed only when the request asks for them.
        """
    }

    private func request(_ context: PromptContext) -> String {
        var text = "Request: \(context.request.prompt)\n"
        let probes = context.probes.prefix(maxProbes)
        if !probes.isEmpty {
            text += "\nProbes available on this kernel that may fit (with their fields):\n"
            for probe in probes {
                text += probe.fields.isEmpty ? "- \(probe.probe)\n" : "- \(probe.probe): \(probe.fields.joined(separator: ", "))\n"
            }
        }
        if !context.request.hints.isEmpty {
            text += "\nHints from the user:\n"
            for hint in context.request.hints { text += "- \(hint)\n" }
        }
        if !context.feedback.isEmpty {
            text += "\nEarlier attempts of this request failed. Every error so far, oldest first; fix all of them:\n"
            for item in context.feedback {
                text += "\n[attempt \(item.attempt), \(item.stage)]\n\(item.message.trimmedTrailingNewlines)\n"
            }
        }
        return text
    }
}

extension String {
    var trimmedTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
