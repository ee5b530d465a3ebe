import ExampleStore
import KenProto
import KenRPC
import Pipeline
import Synthesis

/// `kenc examples`: list, search, add and remove entries of the example store.
///
/// An added example must pass the front end on this kernel first (it will be shown to the
/// model as a correct program); only learned examples can be removed — the shipped corpus and
/// the installed tools are not kend's to delete.
struct ExampleCalls {
    let store: ExampleStore
    let checker: any CandidateFrontEnd<TypedProgram>

    func handle(_ call: Ken_V1_ExamplesRequest) async throws -> Ken_V1_ExamplesReply {
        var reply = Ken_V1_ExamplesReply()
        switch call.action {
        case .list:
            reply.examples = await store.all().map { Self.entry($0, similarity: 0) }
        case .search:
            guard !call.prompt.isEmpty else { throw RPCStatusError(.invalidArgument, "search needs a query") }
            let limit = call.limit == 0 ? 5 : Int(min(call.limit, 100))
            reply.examples = await store.search(call.prompt, k: limit).results.map { Self.entry($0.example, similarity: $0.similarity) }
        case .add:
            switch await checker.check(program: call.program, file: "example.bt") {
            case .failure(let failure):
                throw RPCStatusError(.invalidArgument, "the program does not pass the front end", detail: failure.feedback,
                                     hint: "kenc check FILE shows the same diagnostics")
            case .success:
                break
            }
            do {
                let added = try await store.addLearned(prompt: call.prompt, program: call.program, tags: call.tags)
                reply.examples = [Self.entry(added, similarity: 0)]
            } catch {
                throw RPCStatusError(.invalidArgument, "\(error)")
            }
        case .remove:
            do {
                reply.examples = [Self.entry(try await store.remove(id: call.id), similarity: 0)]
            } catch ExampleStoreError.notFound {
                throw RPCStatusError(.notFound, "no example \(call.id.prefix(80))", hint: "kenc examples list shows the ids")
            } catch {
                throw RPCStatusError(.failedPrecondition, "\(error)")
            }
        case .UNRECOGNIZED(let value):
            throw RPCStatusError(.invalidArgument, "unknown examples action \(value)")
        }
        return reply
    }

    static func entry(_ example: Example, similarity: Double) -> Ken_V1_ExampleEntry {
        Ken_V1_ExampleEntry.with {
            $0.id = example.id
            $0.prompts = example.prompts
            $0.program = example.program
            $0.tags = example.tags
            $0.origin = example.origin.rawValue
            $0.similarity = similarity
            $0.needsUnsafe = example.needsUnsafe
        }
    }
}
