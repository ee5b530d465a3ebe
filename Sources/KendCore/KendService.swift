import Accounts
import ExampleStore
import Foundation
import KenProto
import KenRPC
import Pipeline
import Synthesis

/// kend's protocol handler: Status, Synthesize (streamed), Verify, Apply.
///
/// kend runs as the unprivileged user `ken`. It authorizes its own peers by role (`KendAccess`:
/// users may synthesize and verify, admins may also apply fleets and change the examples), and
/// what it sends to the agent for a synthesis carries the caller as `on_behalf_of`, so the agent
/// authorizes and records the end user, not kend.
public struct KendService: RPCHandler {
    public typealias Request = Ken_V1_KendRequest
    public typealias Response = Ken_V1_KendResponse

    public var engine: SynthesisEngine
    public var status: @Sendable () async -> Ken_V1_KendStatusReply
    public var isAuthorized: @Sendable (PeerCredentials) -> Bool
    /// May apply (and prune) fleets and add or remove learned examples.
    public var isAdmin: @Sendable (PeerCredentials) -> Bool
    /// Serves Apply; nil answers UNIMPLEMENTED.
    public var applier: FleetApplier?
    /// Serves Examples; nil answers UNIMPLEMENTED.
    public var examples: ExampleStore?
    /// Awaited before Synthesize, Verify and Apply: kend serves at once while it builds its kernel
    /// contracts, and these calls wait for them, streaming progress events meanwhile.
    public var prepare: (@Sendable (_ progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async -> Void)?

    public init(engine: SynthesisEngine, status: @escaping @Sendable () async -> Ken_V1_KendStatusReply,
                applier: FleetApplier? = nil, examples: ExampleStore? = nil,
                prepare: (@Sendable (_ progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async -> Void)? = nil,
                isAuthorized: @escaping @Sendable (PeerCredentials) -> Bool = PeerPolicy.sameUserOrGroup,
                isAdmin: @escaping @Sendable (PeerCredentials) -> Bool = KendAccess().isAdmin) {
        self.prepare = prepare
        self.engine = engine
        self.isAdmin = isAdmin
        self.status = status
        self.applier = applier
        self.examples = examples
        self.isAuthorized = isAuthorized
    }

    /// Serves with the roles of `access`.
    public init(engine: SynthesisEngine, status: @escaping @Sendable () async -> Ken_V1_KendStatusReply,
                applier: FleetApplier? = nil, examples: ExampleStore? = nil, access: KendAccess,
                prepare: (@Sendable (_ progress: @escaping @Sendable (Ken_V1_SynthesisEvent) async -> Void) async -> Void)? = nil) {
        self.init(engine: engine, status: status, applier: applier, examples: examples, prepare: prepare,
                  isAuthorized: access.isUser, isAdmin: access.isAdmin)
    }

    private func requireAdmin(_ peer: PeerCredentials, to action: String) throws {
        guard isAdmin(peer) else {
            throw RPCStatusError(.permissionDenied, "uid \(peer.uid) may not \(action)",
                                 hint: "only kend's administrators may ([access] admin_users/admin_groups in kend.toml)")
        }
    }

    public func handle(_ request: Request, context: RPCCallContext<Response>) async throws -> Response {
        guard isAuthorized(context.peer) else {
            throw RPCStatusError(.permissionDenied, "\(context.peer) may not use kend",
                                 hint: "ask an administrator to add you to the group that owns kend's socket")
        }
        var response = Response()
        let sendEvent: @Sendable (Ken_V1_SynthesisEvent) async -> Void = { event in
            var update = Response()
            update.event = event
            try? await context.send(update)
        }
        switch request.call {
        case .synthesize, .apply:
            await prepare?(sendEvent)
        case .verify:
            await prepare? { _ in }
        default:
            break
        }
        switch request.call {
        case .status:
            response.statusReply = await status()
        case .synthesize(let call):
            // What reaches the agent for this task is done on the caller's behalf.
            let report = try await EndUser.$current.withValue(context.peer) {
                try await engine.synthesize(call, onEvent: sendEvent)
            }
            response.report = report
        case .verify(let call):
            response.verify = try await verify(call)
        case .apply(let call):
            try requireAdmin(context.peer, to: call.prune ? "apply fleet manifests with prune" : "apply fleet manifests")
            guard let applier else {
                throw RPCStatusError(.unimplemented, "this kend does not serve Apply (no agent socket configured)")
            }
            response.apply = try await applier.apply(call, progress: sendEvent)
        case .examples(let call):
            if call.action == .add || call.action == .remove {
                try requireAdmin(context.peer, to: "add or remove learned examples (they are shown to every later prompt)")
            }
            guard let examples else { throw RPCStatusError(.unimplemented, "this kend has no example store") }
            response.examples = try await ExampleCalls(store: examples, checker: engine.pipeline.loop.frontEnd).handle(call)
        case .cancel, nil:
            throw RPCStatusError(.invalidArgument, "the request names no call")
        }
        return response
    }

    /// Front end, then the annotations, then the symbolic verifier: `kenc verify` through kend.
    func verify(_ call: Ken_V1_VerifyRequest) async throws -> Ken_V1_VerifyReply {
        guard !call.program.isEmpty else { throw RPCStatusError(.invalidArgument, "no program to verify") }
        let file = call.fileName.isEmpty ? "program.bt" : call.fileName
        var reply = Ken_V1_VerifyReply()
        let loop = engine.pipeline.loop
        var candidate: KernelCandidate
        switch await loop.frontEnd.check(program: call.program, file: file) {
        case .failure(let failure):
            reply.verdict = .unknown
            reply.diagnostics = failure.diagnostics.isEmpty ? [StageFailure.diagnostic(failure.feedback)] : failure.diagnostics
            return reply
        case .success(let value):
            candidate = value
            reply.diagnostics = value.warnings
        }
        if !call.prompt.isEmpty, let annotator = loop.annotator,
           case .success(let annotated) = await annotator.annotate(candidate, prompt: call.prompt) {
            candidate = annotated
        }
        reply.annotatedProgram = candidate.annotated?.text ?? call.program
        guard let prover = loop.prover else {
            reply.verdict = .unknown
            return reply
        }
        let proof = await prover.prove(candidate, file: file)
        reply.verdict = proof.verdict
        reply.asserts = proof.asserts
        return reply
    }
}

/// Who may call kend.
public enum PeerPolicy {
    /// Root, kend's own user, and members of kend's own group (the group of its socket).
    public static let sameUserOrGroup: @Sendable (PeerCredentials) -> Bool = { peer in
        if peer.uid == 0 || peer.uid == getuid() || peer.gid == getgid() { return true }
        return UserDatabase.groups(ofUID: peer.uid).contains(getgid())
    }
}
