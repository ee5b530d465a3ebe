import Foundation
import KenProto
import KenRPC

extension AgentService {
    /// Verify-only: the agent's own checks, then the kernel verifier, and nothing runs.
    ///
    /// - Scripts the native backend compiles are loaded through the kernel verifier and unloaded:
    ///   nothing is attached, BEGIN never runs, no output.
    /// - Scripts that run on bpftrace are made inert (`ProgramChecker.checkForVerify`): every body
    ///   is compiled and verified but guarded so it cannot execute while bpftrace's probes are
    ///   briefly attached.
    /// - Objects are inspected like attaches, then loaded and unloaded without attaching.
    /// - Each call counts against the caller's limits.extensions_per_uid while in flight, and at
    ///   most limits.verify_concurrency run at once; the rest wait in order and receive progress
    ///   responses with their place in the queue.
    /// - A verify-only bpftrace child is capped (memory, CPU, limits.verify_seconds of wall clock)
    ///   and dies with the agent; if the caller goes away it is killed at once.
    func verify(_ request: Ken_V1_VerifyOnlyRequest, peer: PeerCredentials,
                send: @escaping @Sendable (Ken_V1_AgentResponse) async throws -> Void) async throws -> Ken_V1_VerifyOnlyReply {
        let script: CheckedProgram?
        var choice: BackendChoice?
        switch request.kind {
        case .bpftrace:
            guard request.object.isEmpty else { throw RPCStatusError(.invalidArgument, "a bpftrace verify carries no object bytes") }
            // The policy first, on the script as given; then the backend that would run it.
            let checked = try checkScript(request.programText)
            choice = try supervisor.builder.choose(checked.text, requested: request.backend, uid: peer.uid)
            if choice?.artifact != nil {
                script = checked
            } else {
                do { script = try checker().checkForVerify(request.programText) } catch { throw Self.status(of: error) }
            }
        case .bpfObject:
            guard request.programText.isEmpty else { throw RPCStatusError(.invalidArgument, "an object verify carries no script text") }
            guard request.backend == .unspecified else {
                throw RPCStatusError(.invalidArgument, "a backend is chosen only for bpftrace scripts, not for objects")
            }
            try checkObject(request.object)
            script = nil
        default:
            throw RPCStatusError(.invalidArgument, "the verify request names no program kind (bpftrace or object)")
        }
        try await countVerify(peer)
        defer { verifying.withLock { $0[peer.uid, default: 1] -= 1 } }

        let clock = ContinuousClock()
        let queuedAt = clock.now
        try await verifyQueue.enter { place in
            try? await send(Ken_V1_AgentResponse.with { $0.verifyOnly.queuePosition = UInt32(place) })
        }
        let queued = clock.now - queuedAt
        var reply: Ken_V1_VerifyOnlyReply
        do {
            if let artifact = choice?.artifact {
                reply = supervisor.verifyNative(artifact)
            } else if let script {
                reply = try await supervisor.verifyScript(script.text, unsafe: script.needsUnsafeFlag)
                reply.backend = .bpftrace
                reply.backendReason = choice?.reason ?? ""
            } else {
                reply = try await supervisor.verifyObject([UInt8](request.object))
            }
        } catch {
            await verifyQueue.leave()
            throw error
        }
        await verifyQueue.leave()
        reply.queuedMs = UInt64(max(0, queued.components.seconds * 1000 + queued.components.attoseconds / 1_000_000_000_000_000))
        return reply
    }

    /// Verify-only calls in flight for `uid`.
    func verifyingCount(_ uid: UInt32) -> Int { verifying.withLock { $0[uid] ?? 0 } }

    /// Counts one verify-only call against the caller's extension limit, under the attach gate so
    /// attaches and verifies cannot together overrun it.
    private func countVerify(_ peer: PeerCredentials) async throws {
        let policy = configuration.policy
        let registry = self.registry
        try await attachGate.run { () throws in
            let mine = try registry.liveCount(ownerUID: peer.uid) + self.verifyingCount(peer.uid)
            guard mine < policy.maxExtensionsPerUID else {
                throw RPCStatusError(.resourceExhausted, "uid \(peer.uid) already has \(mine) extensions and verify-only calls in flight (limit \(policy.maxExtensionsPerUID))",
                                     hint: "wait for your verify-only calls to finish, or detach an extension")
            }
            self.verifying.withLock { $0[peer.uid, default: 0] += 1 }
        }
    }
}
