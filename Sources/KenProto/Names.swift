// Hand-written (not generated): the names people read for wire enums, shared by kend's
// messages to the model and kenc's output. `Proto/generate.sh` replaces only *.pb.swift.

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
