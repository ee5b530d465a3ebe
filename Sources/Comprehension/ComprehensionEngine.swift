import BpftraceSemantics
import BpftraceSyntax
import Contracts
import KernelInfo
import LLM
import SymbolicVerifier

/// The Comprehension Engine: annotates a candidate bpftrace program with `assume`/`assert`
/// statements, from the kernel contracts (always), from the request's explicit constraints
/// (PromptAsserts: "opened by vim" → `assert(comm == "vim")` before each output, always), and
/// from the user's prompt through an LLM (when one is configured), and runs Ken's own
/// kernel-value checks.
///
/// Annotations are checked before they are kept: LLM ones that do not parse, read what the
/// probe does not have, or change the program are dropped with a note; LLM assumes a contract
/// contradicts are dropped and those no contract implies are listed as `assumed`; ones the
/// symbolic verifier finds vacuous are sent back to the LLM once with the reason, then dropped.
public struct ComprehensionEngine: Sendable {
    public let contracts: ContractStore
    public let llm: LLMClient?
    /// Types annotations and programs for the verifier (tracefs formats, BTF). Without it the
    /// verifier falls back to bpftrace's default types and resolution errors are not caught.
    public let kernel: KernelInfo?
    public let verifier: SymbolicVerifier
    public let log: AnnotationLog?

    public init(contracts: ContractStore, llm: LLMClient?, kernel: KernelInfo? = nil,
                verifier: SymbolicVerifier = SymbolicVerifier(), log: AnnotationLog? = nil) {
        self.contracts = contracts
        self.llm = llm
        self.kernel = kernel
        self.verifier = verifier
        self.log = log
    }

    /// Annotates a parsed candidate (printed first, so diagnostics point at printed text).
    public func annotate(program: Program, prompt: String, file: String = "candidate.bt") async -> ComprehensionResult {
        await annotate(source: Printer.print(program), prompt: prompt, file: file)
    }

    /// Why the request's asserts could not be decided (UNKNOWN, or the program did not resolve
    /// with them), or nil when each was decided.
    static func undecidedPromptAsserts(_ outcome: Session.Outcome) -> String? {
        guard let verification = outcome.verification else { return "the annotated program did not resolve with them" }
        let unknown = verification.asserts.filter {
            $0.verdict == .unknown && outcome.assertOrigins["\($0.position.line):\($0.position.column)"] == .prompt
        }
        guard let first = unknown.first else { return nil }
        return "UNKNOWN: \(first.text): \(first.reason ?? "not decided")"
    }

    public func annotate(source: String, prompt: String, file: String = "candidate.bt") async -> ComprehensionResult {
        let parsed = Parser.parse(source: source, file: file)
        guard let parsedProgram = parsed.program else {
            return ComprehensionResult(annotatedProgram: nil, annotatedSource: source, annotations: [],
                                       notes: ["the candidate does not parse; nothing was annotated"],
                                       warnings: parsed.diagnostics.filter { $0.severity == .error }, verification: nil)
        }
        return await annotate(parsed: parsedProgram, prompt: prompt, file: file)
    }

    /// Annotates a candidate already parsed from its text (the synthesis pipeline's front end
    /// hands its tree on): Ken's checks point at that text, and nothing is parsed twice.
    /// `resolved`: the resolver's result on that very tree, when the caller has it (the
    /// pipeline's front end does); else the engine resolves the tree against `kernel`.
    public func annotate(parsed parsedProgram: Program, resolved: ResolvedProgram? = nil, prompt: String,
                         file: String = "candidate.bt") async -> ComprehensionResult {
        var session = Session(engine: self, prompt: prompt, file: file)
        let candidate = stripAnnotations(parsedProgram)
        if candidate != parsedProgram {
            session.notes.append("the candidate's own assume/assert statements were replaced by Ken's annotations")
        }
        session.resolveContracts(candidate)

        // Ken's own checks run on the candidate as written (its source ranges), on the
        // resolver's types; the contracts add only which function arguments are user pointers.
        let warnings = session.kernelValueWarnings(parsedProgram, resolved: resolved)

        var mechanical: [Annotation] = []
        for (index, probe) in candidate.probes.enumerated() {
            mechanical += ContractAssumptions.annotations(
                probeIndex: index, probe: probe, spec: session.specs[index], contract: session.probeContracts[index],
                builtinFacts: contracts.builtinFacts)
        }

        var llmAnnotations: [Annotation] = []
        var conversation: [ChatMessage] = []
        if let llm {
            conversation = AnnotationPrompt.request(
                prompt: prompt, candidate: Printer.print(candidate), contracts: session.contractTexts(candidate),
                builtinFacts: session.usedBuiltinFacts(candidate), existing: mechanical)
            if let reply = await session.ask(llm, conversation) {
                conversation.append(.assistant(reply))
                llmAnnotations = session.llmAnnotations(from: reply, candidate: candidate)
            }
        } else {
            session.notes.append("no LLM configured: only contract assumes were added")
        }

        // The request's own constraints, as asserts before the program's outputs (no LLM).
        let fromPrompt = session.promptAsserts(candidate)
        var outcome = session.verify(fromPrompt, mechanical: mechanical, llm: &llmAnnotations, attempt: 1)
        if !outcome.rejected.isEmpty {
            let rejectedIDs = Set(outcome.rejected.map(\.annotation))
            if let llm {
                conversation.append(AnnotationPrompt.regeneration(rejected: outcome.rejected))
                session.notes.append("asked the LLM once more: \(outcome.rejected.count) annotation(s) were vacuous")
                if let reply = await session.ask(llm, conversation) {
                    llmAnnotations = session.llmAnnotations(from: reply, candidate: candidate)
                } else {
                    llmAnnotations.removeAll { rejectedIDs.contains($0) }
                }
                outcome = session.verify(fromPrompt, mechanical: mechanical, llm: &llmAnnotations, attempt: 2)
            }
            if !outcome.rejected.isEmpty {
                for item in outcome.rejected {
                    session.notes.append("dropped vacuous annotation \(item.annotation.text) in \(item.annotation.probe): \(item.reason)")
                }
                let still = Set(outcome.rejected.map(\.annotation))
                llmAnnotations.removeAll { still.contains($0) }
                outcome = session.verify(fromPrompt, mechanical: mechanical, llm: &llmAnnotations, attempt: 3)
            }
        }

        // A request's assert the verifier cannot decide is dropped, never a reason to fail a
        // program (UNKNOWN is not a counterexample); a VIOLATED one stays and fails it.
        if fromPrompt != candidate, let undecided = Self.undecidedPromptAsserts(outcome) {
            session.notes.append("dropped the request's asserts: \(undecided)")
            outcome = session.verify(candidate, mechanical: mechanical, llm: &llmAnnotations, attempt: 4)
        }

        return ComprehensionResult(annotatedProgram: outcome.program, annotatedSource: outcome.source,
                                   annotations: outcome.kept, notes: session.notes, warnings: warnings,
                                   verification: outcome.verification, assertOrigins: outcome.assertOrigins,
                                   assumed: session.assumed.filter { outcome.kept.contains($0) })
    }
}
