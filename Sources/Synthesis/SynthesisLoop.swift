import KenProto

/// Finds worked examples similar to a prompt (the example store).
public protocol ExampleRetriever: Sendable {
    func examples(for prompt: String, limit: Int) async -> [FewShotExample]
}

/// Finds probes on this kernel that look relevant to a prompt (the contracts store / catalogue).
public protocol ProbeSuggester: Sendable {
    func probes(for prompt: String, limit: Int) async -> [ProbeHint]
}

/// A finished task: what the loop found, and the task's feedback, oldest first.
public struct SynthesisOutcome: Sendable {
    public var result: SynthesisResult
    public var feedback: [Feedback]
    /// The result as the client is sent it.
    public var report: Ken_V1_SynthesisReport { result.report }
}

/// The attempt loop (the paper's §3.1 workflow, with both feedback loops).
///
/// Each attempt runs Prompter → source → front end → Comprehension → Symbolic Verifier → kernel,
/// passing one `Candidate` from the front end on. A failure at any stage becomes feedback for
/// every later attempt of the task; the first attempt that passes every stage ends the task.
/// When attempts run out the result carries the candidate that got furthest, every error, and
/// `needsHint` so the user can continue the task.
///
/// `Typed` is whatever the stages pass along with the text (the `Pipeline` module's typed
/// program); the loop never looks inside it.
public struct SynthesisLoop<Typed: Sendable>: Sendable {
    public var source: any CandidateSource
    public var frontEnd: any CandidateFrontEnd<Typed>
    /// nil: no comprehension (the candidate is verified as written, with its own annotations).
    public var annotator: (any CandidateAnnotator<Typed>)?
    /// nil: the "feedback without symbolic verification" ablation.
    public var prover: (any CandidateProver<Typed>)?
    /// nil: the kernel is not consulted (e.g. `kenc verify`-like dry runs).
    public var kernel: (any KernelGate)?
    public var examples: (any ExampleRetriever)?
    public var probes: (any ProbeSuggester)?
    public var prompter: Prompter
    public var bpftraceVersion: String
    /// false: the "single-shot" ablation — errors are not fed into later attempts.
    public var feedbackEnabled: Bool

    public init(source: any CandidateSource, frontEnd: any CandidateFrontEnd<Typed>,
                annotator: (any CandidateAnnotator<Typed>)? = nil, prover: (any CandidateProver<Typed>)? = nil,
                kernel: (any KernelGate)? = nil, examples: (any ExampleRetriever)? = nil,
                probes: (any ProbeSuggester)? = nil, prompter: Prompter = Prompter(),
                bpftraceVersion: String = "0.17.0", feedbackEnabled: Bool = true) {
        self.source = source
        self.frontEnd = frontEnd
        self.annotator = annotator
        self.prover = prover
        self.kernel = kernel
        self.examples = examples
        self.probes = probes
        self.prompter = prompter
        self.bpftraceVersion = bpftraceVersion
        self.feedbackEnabled = feedbackEnabled
    }

    /// Runs a task to its end. `priorFeedback` continues an earlier task (`kenc synth --hint`).
    /// `onEvent` sees every stage as it starts and ends; the returned report is final.
    public func run(_ request: SynthesisRequest, taskID: String, priorFeedback: [Feedback] = [],
                    onEvent: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void = { _ in }) async -> Ken_V1_SynthesisReport {
        await runTask(request, taskID: taskID, priorFeedback: priorFeedback, onEvent: onEvent).report
    }

    /// Like `run`, and also returns every piece of feedback of the task (prior and new), so a
    /// caller can keep it to continue the task later.
    public func runTask(_ request: SynthesisRequest, taskID: String, priorFeedback: [Feedback] = [],
                        onEvent: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void = { _ in }) async -> SynthesisOutcome {
        let task = TaskRun(taskID: taskID, feedback: priorFeedback, keepsFeedback: feedbackEnabled, onEvent: onEvent)
        let context = await gatherContext(for: request)
        for number in 1...max(1, request.maxAttempts) {
            let attempt = AttemptRun(number: number)
            let end = await runAttempt(attempt, request: request, context: context, task: task)
            task.result.attempts.append(attempt.record)
            switch end {
            case .passed(let candidate, let verdict, let proofWarnings):
                await task.passed(candidate, verdict: verdict, proofWarnings: proofWarnings, attempt: number,
                                  attached: request.attach)
                return task.outcome
            case .failed(let failure):
                await task.failed(failure, attempt: attempt)
            case .stopped(let reason, let stage):
                await task.stopped(reason, stage: stage, attempt: number)
                return task.outcome
            }
        }
        await task.ranOut()
        return task.outcome
    }

    // MARK: The steps of one attempt

    /// How an attempt ended.
    enum AttemptEnd {
        case passed(Candidate<Typed>, ProgramVerdict, proofWarnings: [String])
        /// A stage refused the candidate: feedback for the next attempt.
        case failed(StageFailure)
        /// The source or the agent could not be reached: no later attempt would fare better.
        case stopped(String, stage: Ken_V1_Stage?)
    }

    /// Something outside the candidate stopped the task.
    struct Stop: Error {
        var reason: String
        var stage: Ken_V1_Stage?
    }

    /// What every attempt's prompt shares: retrieved examples and probe suggestions.
    struct TaskContext {
        var examples: [FewShotExample]
        var probes: [ProbeHint]
    }

    func gatherContext(for request: SynthesisRequest) async -> TaskContext {
        TaskContext(examples: await examples?.examples(for: request.prompt, limit: prompter.maxExamples) ?? [],
                    probes: await probes?.probes(for: request.prompt, limit: prompter.maxProbes) ?? [])
    }

    /// Each stage in order; the first one that refuses ends the attempt.
    func runAttempt(_ attempt: AttemptRun, request: SynthesisRequest, context: TaskContext,
                    task: TaskRun) async -> AttemptEnd {
        do {
            let proposal = try await propose(attempt, request: request, context: context, task: task)
            var candidate = try await checkFrontEnd(proposal, attempt: attempt, task: task)
            candidate = try await comprehend(candidate, prompt: request.prompt, attempt: attempt, task: task)
            let proof = try await prove(candidate, attempt: attempt, task: task)
            try requireCleanChecks(candidate)
            task.reached(.annotated, candidate.program, annotated: candidate.annotatedText)
            let verdict = try judge(proof, candidate: candidate, request: request, task: task)
            try await submitToKernel(candidate, verdict: verdict, request: request, attempt: attempt, task: task)
            return .passed(candidate, verdict, proofWarnings: proof?.warnings ?? [])
        } catch let failure as StageFailure {
            return .failed(failure)
        } catch let stop as Stop {
            return .stopped(stop.reason, stage: stop.stage)
        } catch {
            return .stopped("\(error)", stage: nil)
        }
    }

    /// Builds the prompt and asks the source for a program.
    func propose(_ attempt: AttemptRun, request: SynthesisRequest, context: TaskContext,
                 task: TaskRun) async throws -> Proposal {
        await task.emit(attempt.number, .prompt, "building the prompt (\(context.examples.count) examples, \(context.probes.count) probes, \(task.feedback.count) errors so far)")
        let promptContext = PromptContext(request: request, examples: context.examples, probes: context.probes,
                                          feedback: task.feedback, bpftraceVersion: bpftraceVersion)
        let messages = await attempt.timed(.prompt) { prompter.messages(for: promptContext) }
        await task.emit(attempt.number, .llm, "asking \(source.description)")
        let proposal: Proposal
        do {
            proposal = try await attempt.timed(.llm) {
                try await source.propose(messages: messages, request: request, attempt: attempt.number)
            }
        } catch let failure as StageFailure {
            throw failure
        } catch {
            throw Stop(reason: "\(error)", stage: nil)
        }
        attempt.record.program = proposal.program
        attempt.record.promptTokens = proposal.promptTokens
        attempt.record.completionTokens = proposal.completionTokens
        task.wrote(proposal.origin)
        task.reached(.proposed, proposal.program, annotated: "")
        return proposal
    }

    /// Parses and resolves the proposal against this kernel: from here on it is one typed value.
    func checkFrontEnd(_ proposal: Proposal, attempt: AttemptRun, task: TaskRun) async throws -> Candidate<Typed> {
        await task.emit(attempt.number, .parse, "parsing and resolving against this kernel")
        let candidate = try await attempt.timed(.parse) {
            try await frontEnd.check(program: proposal.program, file: attempt.file).get()
        }
        task.reached(.parsed, candidate.program, annotated: "")
        return candidate
    }

    /// Adds assume/assert annotations, when an annotator is wired.
    func comprehend(_ candidate: Candidate<Typed>, prompt: String, attempt: AttemptRun,
                    task: TaskRun) async throws -> Candidate<Typed> {
        guard let annotator else { return candidate }
        await task.emit(attempt.number, .comprehend, "annotating with assume/assert")
        return try await attempt.timed(.comprehend) { try await annotator.annotate(candidate, prompt: prompt).get() }
    }

    /// Proves the annotations (nil: no prover is wired). No asserts means no claim to prove or
    /// refute: the stage passes, and the verdict says that nothing was proven.
    func prove(_ candidate: Candidate<Typed>, attempt: AttemptRun, task: TaskRun) async throws -> ProofOutcome? {
        guard let prover else { return nil }
        await task.emit(attempt.number, .symbolicVerify, "proving the annotations")
        var proof = await attempt.timed(.symbolicVerify) { await prover.prove(candidate, file: attempt.file) }
        proof.asserts = proof.asserts.map { Self.claimed($0, in: candidate.annotated) }
        task.result.asserts = proof.asserts
        guard proof.verdict == .verified || proof.asserts.isEmpty else {
            let checks = candidate.annotated?.warnings ?? []
            let rendered = Self.rendered(checks)
            throw StageFailure(stage: .symbolicVerify,
                               feedback: rendered.isEmpty ? proof.feedback : proof.feedback + "\n" + rendered,
                               diagnostics: [StageFailure.diagnostic(proof.feedback)] + checks)
        }
        return proof
    }

    /// PROVEN or CHECKED; with `requireProof`, a program that is only checked goes no further.
    func judge(_ proof: ProofOutcome?, candidate: Candidate<Typed>, request: SynthesisRequest,
               task: TaskRun) throws -> ProgramVerdict {
        let verdict = ProgramVerdict.judge(proof: proof, notes: Self.unprovenNotes(candidate.annotated?.notes ?? []))
        task.result.verdict = verdict
        if request.requireProof, !verdict.isProven {
            throw StageFailure(stage: .symbolicVerify,
                               feedback: "not attached: a proven program was required (--require-proof) and nothing was proven: \(verdict.unprovenReason)")
        }
        return verdict
    }

    /// Ken's own checks (byte order, user pointers) go back like errors even when proven.
    func requireCleanChecks(_ candidate: Candidate<Typed>) throws {
        guard let checks = candidate.annotated?.warnings, !checks.isEmpty else { return }
        throw StageFailure(stage: .comprehend, feedback: Self.rendered(checks), diagnostics: checks)
    }

    /// The kernel verifier through ken-agent (VerifyOnly), or Attach.
    func submitToKernel(_ candidate: Candidate<Typed>, verdict: ProgramVerdict, request: SynthesisRequest,
                        attempt: AttemptRun, task: TaskRun) async throws {
        guard let kernel else { return }
        let stage: Ken_V1_Stage = request.attach ? .attach : .kernelVerify
        await task.emit(attempt.number, stage, request.attach ? "attaching through ken-agent" : "loading through the kernel verifier")
        let submission = KernelSubmission(program: candidate.program, annotated: candidate.annotatedText,
                                          prompt: request.prompt, name: request.name, attach: request.attach,
                                          verdict: verdict)
        let verdict: Result<Ken_V1_Extension?, StageFailure>
        do {
            verdict = try await attempt.timed(stage) { try await kernel.submit(submission) }
        } catch {
            throw Stop(reason: "\(error)", stage: stage)
        }
        if let extensionRecord = try verdict.get() {
            task.result.extensionRecord = extensionRecord
        }
    }

    // MARK: Claims and text for feedback

    /// The assert with who claimed it: Comprehension's record by position; without
    /// Comprehension the program's own asserts are its author's.
    static func claimed(_ verdict: Ken_V1_AssertVerdict, in annotated: AnnotatedProgram?) -> Ken_V1_AssertVerdict {
        var out = verdict
        let key = AnnotatedProgram.claimKey(line: Int(verdict.line), column: Int(verdict.column))
        out.claimedBy = annotated.map { $0.claims[key] ?? .unspecified } ?? .program
        return out
    }

    /// The Comprehension notes that explain why nothing was proven (dropped annotations, no
    /// LLM); the rest (contract lookups) say nothing about proof.
    static func unprovenNotes(_ notes: [String]) -> [String] {
        notes.filter { note in
            ["dropped", "no LLM", "does not resolve", "failed", "request states"].contains { note.contains($0) }
        }
    }

    /// Diagnostics as they go into a prompt: each rendered with its source line and hint.
    static func rendered(_ diagnostics: [Ken_V1_Diagnostic]) -> String {
        diagnostics.map { $0.rendered.isEmpty ? $0.message : $0.rendered }.joined(separator: "\n")
    }
}

extension StageFailure {
    /// A diagnostic carrying free text (a stage message without a source location).
    public static func diagnostic(_ message: String) -> Ken_V1_Diagnostic {
        var diagnostic = Ken_V1_Diagnostic()
        diagnostic.severity = .error
        diagnostic.message = message.firstLine
        diagnostic.rendered = message
        return diagnostic
    }
}

extension Duration {
    /// The duration in seconds, for timings kept as Double.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

extension String {
    var firstLine: String {
        split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).first.map(String.init) ?? self
    }
}
