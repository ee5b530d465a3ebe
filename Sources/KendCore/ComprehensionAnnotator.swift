import BpftraceSyntax
import Comprehension
import Contracts
import KenProto
import Synthesis

/// The Comprehension stage: contract assumes always, prompt-derived asserts when an LLM is
/// configured, and Ken's own kernel-value checks as warnings the loop feeds back.
public struct ComprehensionAnnotator: ProgramAnnotator {
    public let engine: ComprehensionEngine

    public init(engine: ComprehensionEngine) {
        self.engine = engine
    }

    public func annotate(program: CheckedProgram, prompt: String) async -> Result<AnnotatedProgram, StageFailure> {
        let result = await engine.annotate(source: program.program, prompt: prompt)
        guard result.annotatedProgram != nil else {
            let rendered = result.warnings.map { $0.render(source: program.program) } + result.notes
            return .failure(StageFailure(stage: .comprehend, feedback: rendered.joined(separator: "\n"),
                                         diagnostics: result.warnings.map { FrontEndChecker.proto($0, source: program.program) }))
        }
        return .success(AnnotatedProgram(text: result.annotatedSource, notes: result.notes,
                                         warnings: result.warnings.map { FrontEndChecker.proto($0, source: program.program) },
                                         claims: result.assertOrigins.mapValues(Self.claimedBy)))
    }

    static func claimedBy(_ origin: Annotation.Origin) -> Ken_V1_ClaimedBy {
        switch origin {
        case .contract: .contract
        case .llm: .llm
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
