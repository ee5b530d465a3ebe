import BpftraceSyntax
import Comprehension
import Contracts
import KenProto
import Synthesis

/// The Comprehension stage: contract assumes always, prompt-derived asserts when an LLM is
/// configured, and Ken's own kernel-value checks as warnings the loop feeds back.
///
/// It annotates the front end's tree (no parse of its own) and leaves the annotated tree and
/// the verifier's result on it in the candidate, for the prover.
public struct ComprehensionAnnotator: CandidateAnnotator {
    public let engine: ComprehensionEngine

    public init(engine: ComprehensionEngine) {
        self.engine = engine
    }

    public func annotate(_ candidate: KernelCandidate, prompt: String) async -> Result<KernelCandidate, StageFailure> {
        let result = await engine.annotate(parsed: candidate.typed.tree, resolved: candidate.typed.resolved, prompt: prompt,
                                           file: candidate.typed.file)
        let checks = result.warnings.map { FrontEndChecker.proto($0, source: candidate.program) }
        guard let tree = result.annotatedProgram else {
            let rendered = result.warnings.map { $0.render(source: candidate.program) } + result.notes
            return .failure(StageFailure(stage: .comprehend, feedback: rendered.joined(separator: "\n"), diagnostics: checks))
        }
        var annotated = candidate
        annotated.annotated = AnnotatedProgram(text: result.annotatedSource, notes: result.notes, warnings: checks,
                                               claims: result.assertOrigins.mapValues(Self.claimedBy))
        annotated.typed.annotatedTree = tree
        annotated.typed.verification = result.verification
        return .success(annotated)
    }

    static func claimedBy(_ origin: Annotation.Origin) -> Ken_V1_ClaimedBy {
        switch origin {
        case .contract: .contract
        case .llm: .llm
        case .prompt: .prompt
        }
    }
}

/// Candidate probes for the Prompter from the contracts store: BM25 over probe names, argument
/// and record names, limited to the probe kinds this kernel can attach.
public struct ContractProbes: ProbeSuggester {
    public let store: ContractStore
    public let kinds: Set<ProbeContract.Kind>

    public init(store: ContractStore, kinds: Set<ProbeContract.Kind>) {
        self.store = store
        self.kinds = kinds
    }

    public func probes(for prompt: String, limit: Int) async -> [ProbeHint] {
        ((try? store.search(prompt: prompt, limit: limit, kinds: kinds)) ?? []).map { match in
            ProbeHint(probe: ContractText.displayName(match.contract),
                      fields: match.contract.arguments.map { "\($0.cType) \($0.name)" })
        }
    }
}

/// Whether a program carries its own assume/assert statements (a pinned program's spec).
func hasOwnAnnotations(_ source: String) -> Bool {
    guard let program = Parser.parse(source: source, file: "pinned.bt").program else { return false }
    return stripAnnotations(program) != program
}
