import KenProto

/// Finds worked examples similar to a prompt (the example store).
public protocol ExampleRetriever: Sendable {
    func examples(for prompt: String, limit: Int) async -> [FewShotExample]
}

/// Finds probes on this kernel that look relevant to a prompt (the contracts store / catalogue).
public protocol ProbeSuggester: Sendable {
    func probes(for prompt: String, limit: Int) async -> [ProbeHint]
}

/// A finished task: the report for the client, and the task's feedback, oldest first.
public struct SynthesisOutcome: Sendable {
    public var report: Ken_V1_SynthesisReport
    public var feedback: [Feedback]
}

/// The attempt loop (the paper's §3.1 workflow, with both feedback loops).
///
/// Each attempt runs Prompter → source → front end → Comprehension → Symbolic Verifier → kernel.
/// A failure at any stage becomes feedback for every later attempt of the task; the first
/// attempt that passes every stage ends the task. When attempts run out the report carries the
/// candidate that got furthest, every error, and `needsHint` so the user can continue the task.
public struct SynthesisLoop: Sendable {
    public var source: any CandidateSource
    public var checker: any ProgramChecker
    /// nil: no comprehension (the candidate is verified as written, with its own annotations).
    public var annotator: (any ProgramAnnotator)?
    /// nil: the "feedback without symbolic verification" ablation.
    public var prover: (any ProgramProver)?
    /// nil: the kernel is not consulted (e.g. `kenc verify`-like dry runs).
    public var kernel: (any KernelGate)?
    public var examples: (any ExampleRetriever)?
    public var probes: (any ProbeSuggester)?
    public var prompter: Prompter
    public var bpftraceVersion: String
    /// false: the "single-shot" ablation — errors are not fed into later attempts.
    public var feedbackEnabled: Bool

    public init(source: any CandidateSource, checker: any ProgramChecker,
                annotator: (any ProgramAnnotator)? = nil, prover: (any ProgramProver)? = nil,
                kernel: (any KernelGate)? = nil, examples: (any ExampleRetriever)? = nil,
                probes: (any ProbeSuggester)? = nil, prompter: Prompter = Prompter(),
                bpftraceVersion: String = "0.17.0", feedbackEnabled: Bool = true) {
        self.source = source
        self.checker = checker
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
                    onEvent: @Sendable (Ken_V1_SynthesisEvent) async -> Void = { _ in }) async -> Ken_V1_SynthesisReport {
        await runTask(request, taskID: taskID, priorFeedback: priorFeedback, onEvent: onEvent).report
    }

    /// Like `run`, and also returns every piece of feedback of the task (prior and new), so a
    /// caller can keep it to continue the task later.
    public func runTask(_ request: SynthesisRequest, taskID: String, priorFeedback: [Feedback] = [],
                        onEvent: @Sendable (Ken_V1_SynthesisEvent) async -> Void = { _ in }) async -> SynthesisOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        var report = Ken_V1_SynthesisReport()
        report.taskID = taskID
        var feedback = priorFeedback
        var furthest: (rank: Int, program: String, annotated: String) = (-1, "", "")

        func emit(_ attempt: Int, _ stage: Ken_V1_Stage, _ message: String, _ errors: [Ken_V1_Diagnostic] = []) async {
            var event = Ken_V1_SynthesisEvent()
            event.taskID = taskID
            event.attempt = UInt32(attempt)
            event.stage = stage
            event.message = message
            event.errors = errors
            event.elapsedSeconds = (clock.now - started).seconds
            await onEvent(event)
        }

        let examples = await self.examples?.examples(for: request.prompt, limit: prompter.maxExamples) ?? []
        let probes = await self.probes?.probes(for: request.prompt, limit: prompter.maxProbes) ?? []
        let attempts = max(1, request.maxAttempts)

        var stopped = false
        attemptLoop: for number in 1...attempts {
            var attempt = Ken_V1_Attempt()
            attempt.number = UInt32(number)
            func timed<T>(_ stage: Ken_V1_Stage, _ body: () async throws -> T) async rethrows -> T {
                let t0 = clock.now
                defer {
                    var timing = Ken_V1_StageTiming()
                    timing.stage = stage
                    timing.seconds = (clock.now - t0).seconds
                    attempt.timings.append(timing)
                }
                return try await body()
            }
            func fail(_ failure: StageFailure) async {
                attempt.errors.append(contentsOf: failure.diagnostics.isEmpty
                    ? [Self.diagnostic(failure.feedback)] : failure.diagnostics)
                if feedbackEnabled {
                    feedback.append(Feedback(attempt: number, stage: failure.stage.displayName, message: failure.feedback))
                }
                await emit(number, failure.stage, "failed: \(failure.feedback.firstLine)", failure.diagnostics)
                report.attempts.append(attempt)
            }

            // Prompt and propose.
            await emit(number, .prompt, "building the prompt (\(examples.count) examples, \(probes.count) probes, \(feedback.count) errors so far)")
            let context = PromptContext(request: request, examples: examples, probes: probes,
                                        feedback: feedback, bpftraceVersion: bpftraceVersion)
            let messages = await timed(.prompt) { prompter.messages(for: context) }
            await emit(number, .llm, "asking \(source.description)")
            let proposal: Proposal
            do {
                proposal = try await timed(.llm) { try await source.propose(messages: messages, request: request, attempt: number) }
            } catch let failure as StageFailure {
                await fail(failure)
                continue
            } catch {
                // The source itself is unreachable: more attempts would fail the same way.
                attempt.errors.append(Self.diagnostic("\(error)"))
                report.attempts.append(attempt)
                report.note = "synthesis stopped: \(error)"
                stopped = true
                break attemptLoop
            }
            attempt.program = proposal.program
            attempt.promptTokens = UInt32(clamping: proposal.promptTokens)
            attempt.completionTokens = UInt32(clamping: proposal.completionTokens)
            switch proposal.origin {
            case .llm: report.source = "llm"
            case .pinned: report.source = "pinned"
            case .library(let id, let similarity):
                report.source = "library"
                report.similarity = similarity
                if report.note.isEmpty {
                    report.note = "no LLM is configured: answered from the example library (closest example \(id), similarity \(Self.percent(similarity)))"
                }
            }
            if furthest.rank < 0 { furthest = (0, proposal.program, "") }

            // Front end.
            await emit(number, .parse, "parsing and resolving against this kernel")
            let checked: CheckedProgram
            switch await timed(.parse, { await checker.check(program: proposal.program, file: "attempt-\(number).bt") }) {
            case .failure(let failure): await fail(failure); continue
            case .success(let value): checked = value
            }
            if furthest.rank < 1 { furthest = (1, checked.program, "") }

            // Comprehension.
            var annotated = AnnotatedProgram(text: checked.program)
            if let annotator {
                await emit(number, .comprehend, "annotating with assume/assert")
                switch await timed(.comprehend, { await annotator.annotate(program: checked, prompt: request.prompt) }) {
                case .failure(let failure): await fail(failure); continue
                case .success(let value): annotated = value
                }
            }

            // Symbolic verification.
            var proofWarnings: [String] = []
            var proofOutcome: ProofOutcome?
            if let prover {
                await emit(number, .symbolicVerify, "proving the annotations")
                var proof = await timed(.symbolicVerify) { await prover.prove(annotated: annotated, file: "attempt-\(number).bt") }
                proof.asserts = proof.asserts.map { Self.claimed($0, in: annotated, annotator: annotator) }
                proofOutcome = proof
                report.verdicts = proof.asserts
                // No asserts means no claim to prove or refute: the stage passes, and the report
                // says that nothing about the program's behaviour was proven.
                guard proof.verdict == .verified || proof.asserts.isEmpty else {
                    let checks = Self.rendered(annotated.warnings)
                    await fail(StageFailure(stage: .symbolicVerify,
                                            feedback: checks.isEmpty ? proof.feedback : proof.feedback + "\n" + checks,
                                            diagnostics: [Self.diagnostic(proof.feedback)] + annotated.warnings))
                    continue
                }
                proofWarnings = proof.warnings
            }
            if !annotated.warnings.isEmpty {
                await fail(StageFailure(stage: .comprehend, feedback: Self.rendered(annotated.warnings),
                                        diagnostics: annotated.warnings))
                continue
            }
            if furthest.rank < 2 { furthest = (2, checked.program, annotated.text) }
            let verdict = ProgramVerdict.judge(proof: proofOutcome, notes: Self.unprovenNotes(annotated.notes))
            verdict.apply(to: &report)
            if request.requireProof, !verdict.isProven {
                await fail(StageFailure(stage: .symbolicVerify,
                                        feedback: "not attached: a proven program was required (--require-proof) and nothing was proven: \(verdict.unprovenReason)"))
                continue
            }

            // The kernel verifier, and attach.
            if let kernel {
                let stage: Ken_V1_Stage = request.attach ? .attach : .kernelVerify
                await emit(number, stage, request.attach ? "attaching through ken-agent" : "loading through the kernel verifier")
                let submission = KernelSubmission(program: checked.program, annotated: annotated.text,
                                                  prompt: request.prompt, name: request.name, attach: request.attach,
                                                  verdict: verdict)
                let verdict: Result<Ken_V1_Extension?, StageFailure>
                do {
                    verdict = try await timed(stage) { try await kernel.submit(submission) }
                } catch {
                    attempt.errors.append(Self.diagnostic("\(error)"))
                    report.attempts.append(attempt)
                    report.note = "synthesis stopped: \(error)"
                    await emit(number, stage, "stopped: \(error)")
                    stopped = true
                    break attemptLoop
                }
                switch verdict {
                case .failure(let failure): await fail(failure); continue
                case .success(let extensionRecord):
                    if let extensionRecord {
                        report.extension = extensionRecord
                        report.attached = extensionRecord.state == .attached
                    }
                }
            }

            report.attempts.append(attempt)
            report.passed = true
            if !proofWarnings.isEmpty {
                let text = "symbolic verifier: " + proofWarnings.joined(separator: "; ")
                report.note = report.note.isEmpty ? text : report.note + "; " + text
            }
            report.program = checked.program
            report.annotatedProgram = annotated.text
            let headline = verdict.isProven ? "proven" : "checked, nothing proven"
            await emit(number, .done, request.attach ? "\(headline), attached" : headline)
            return SynthesisOutcome(report: report, feedback: feedback)
        }

        report.passed = false
        report.verdict = .unspecified
        report.provenAsserts = []
        // An unreachable source or agent is not something a hint can fix.
        report.needsHint = !stopped
        report.program = furthest.program
        report.annotatedProgram = furthest.annotated
        if report.note.isEmpty || report.source == "library" {
            let why = "no candidate passed every check in \(report.attempts.count) attempt(s)"
            report.note = report.note.isEmpty ? why : report.note + "; " + why
        }
        await emit(report.attempts.count, .done, "attempts ran out: add a hint (kenc synth --hint \"…\") to continue this task")
        return SynthesisOutcome(report: report, feedback: feedback)
    }

    /// The assert with who claimed it: Comprehension's record by position; without an
    /// annotator the program's own asserts are its author's.
    static func claimed(_ verdict: Ken_V1_AssertVerdict, in annotated: AnnotatedProgram,
                        annotator: (any ProgramAnnotator)?) -> Ken_V1_AssertVerdict {
        var out = verdict
        let key = AnnotatedProgram.claimKey(line: Int(verdict.line), column: Int(verdict.column))
        out.claimedBy = annotated.claims[key] ?? (annotator == nil ? .program : .unspecified)
        return out
    }

    /// The Comprehension notes that explain why nothing was proven (dropped annotations, no
    /// LLM); the rest (contract lookups) say nothing about proof.
    static func unprovenNotes(_ notes: [String]) -> [String] {
        notes.filter { note in
            ["dropped", "no LLM", "does not resolve", "failed", "request states"].contains { note.contains($0) }
        }
    }

    /// A diagnostic carrying free text (a stage message without a source location).
    public static func diagnostic(_ message: String) -> Ken_V1_Diagnostic {
        var diagnostic = Ken_V1_Diagnostic()
        diagnostic.severity = .error
        diagnostic.message = message.firstLine
        diagnostic.rendered = message
        return diagnostic
    }

    /// Diagnostics as they go into a prompt: each rendered with its source line and hint.
    static func rendered(_ diagnostics: [Ken_V1_Diagnostic]) -> String {
        diagnostics.map { $0.rendered.isEmpty ? $0.message : $0.rendered }.joined(separator: "\n")
    }

    static func percent(_ value: Double) -> String {
        "\(Int((value * 100).rounded()))%"
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
