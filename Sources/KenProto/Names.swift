// Hand-written (not generated): the names people read for wire enums, shared by kend's
// messages to the model and kenc's output (stages, who claimed an assert, verdicts). `Proto/generate.sh` replaces only *.pb.swift.

extension Ken_V1_Stage {
    /// The stage as people read it, in progress lines, feedback to the model and reports.
    public var displayName: String {
        switch self {
        case .prompt: "prompt"
        case .llm: "synthesis"
        case .parse: "front end"
        case .resolve: "resolve"
        case .comprehend: "comprehension"
        case .symbolicVerify: "symbolic verifier"
        case .kernelVerify: "kernel verifier"
        case .attach: "attach"
        case .done: "done"
        default: "unknown"
        }
    }
}

extension Ken_V1_ClaimedBy {
    /// Who claimed an assert, as people read it ("claimed by the prompt").
    public var displayName: String {
        switch self {
        case .prompt: "the prompt"
        case .llm: "the LLM"
        case .contract: "a kernel contract"
        case .program: "the program's author"
        default: "unknown"
        }
    }
}

extension Ken_V1_ExtensionVerdict {
    /// The verdict as printed: "proven", "checked", or "-" when none was recorded.
    public var displayName: String {
        switch self {
        case .proven: "proven"
        case .checked: "checked"
        default: "-"
        }
    }
}
