import BpftraceSyntax
import Foundation
import KenProto
import KenRPC
import Registry

extension AgentService {
    /// The bpftrace dialect the agent lowers to: the installed bpftrace's version.
    var dialect: BpftraceDialect {
        supervisor.bpftraceVersion.flatMap(BpftraceDialect.init(versionOutput:)) ?? .v0_17
    }

    func checker() -> ProgramChecker { ProgramChecker(policy: configuration.policy, dialect: dialect) }

    /// Re-checks a script as the agent's own gate. Policy refusals are PERMISSION_DENIED (the
    /// policy forbids the call), syntax errors INVALID_ARGUMENT, size RESOURCE_EXHAUSTED.
    func checkScript(_ text: String) throws(RPCStatusError) -> CheckedProgram {
        do {
            return try checker().check(text)
        } catch {
            throw Self.status(of: error)
        }
    }

    static func status(of refusal: ProgramRefusal) -> RPCStatusError {
        let code: Ken_V1_Code
        switch refusal.reason {
        case .syntax, .invalidObject: code = .invalidArgument
        case .unsafeBuiltin, .probeKind, .helper, .kfunc, .preamble: code = .permissionDenied
        case .tooLarge: code = .resourceExhausted
        case .dialect: code = .failedPrecondition
        }
        return RPCStatusError(code, refusal.message, detail: refusal.detail, hint: refusal.hint)
    }

    /// Checks an object's framing, then inspects it against the policy before any of it reaches
    /// the kernel (see `ProgramChecker.checkObject`).
    @discardableResult
    func checkObject(_ bytes: Data) throws(RPCStatusError) -> CheckedObject {
        guard !bytes.isEmpty else { throw RPCStatusError(.invalidArgument, "the object is empty") }
        guard bytes.count <= configuration.policy.maxProgramBytes else {
            throw RPCStatusError(.resourceExhausted, "the object is \(bytes.count) bytes; the limit is \(configuration.policy.maxProgramBytes)",
                                 hint: "raise programs.max_program_bytes in the agent's policy file")
        }
        guard bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]) else {
            throw RPCStatusError(.invalidArgument, "the object is not an ELF file", hint: "compile it with clang -target bpf -O2 -g -c")
        }
        do {
            return try checker().checkObject([UInt8](bytes))
        } catch {
            throw Self.status(of: error)
        }
    }

    /// The verdict is the submitter's claim, recorded as given: it must at least be coherent
    /// (a PROVEN claim names what was proven) and small.
    static func validateVerdict(_ request: Ken_V1_AttachRequest) throws {
        switch request.verdict {
        case .proven:
            guard !request.provenAsserts.isEmpty else {
                throw RPCStatusError(.invalidArgument, "a PROVEN verdict must list the asserts that were proven")
            }
        case .checked, .unspecified:
            guard request.provenAsserts.isEmpty else {
                throw RPCStatusError(.invalidArgument, "proven_asserts are given only with a PROVEN verdict")
            }
        default:
            throw RPCStatusError(.invalidArgument, "unknown verdict \(request.verdict.rawValue)")
        }
        guard request.provenAsserts.count <= 256, request.unprovenReason.utf8.count <= 8192,
              request.provenAsserts.allSatisfy({ $0.text.utf8.count <= 4096 }) else {
            throw RPCStatusError(.resourceExhausted, "the verdict's proven asserts or reason are too long")
        }
    }

    /// `via`: kend, when it attaches on behalf of `peer` (recorded in the extension's notes).
    func attach(_ request: Ken_V1_AttachRequest, peer: PeerCredentials, via: PeerCredentials? = nil) async throws -> Ken_V1_AttachReply {
        guard let kind = ExtensionKind(proto: request.kind) else {
            throw RPCStatusError(.invalidArgument, "the attach request names no program kind (bpftrace or object)")
        }
        if case .UNRECOGNIZED(let value) = request.restart {
            throw RPCStatusError(.invalidArgument, "unknown restart policy \(value)", hint: "use no, on-failure or always")
        }
        let restartPolicy = RestartPolicy(proto: request.restart) ?? configuration.policy.defaultRestartPolicy
        if !request.name.isEmpty { try AgentService.validateName(request.name) }
        guard request.manifestDigest.isEmpty
                || (request.manifestDigest.count == 64 && request.manifestDigest.allSatisfy(\.isHexDigit)) else {
            throw RPCStatusError(.invalidArgument, "manifest_digest must be a sha256 in hex")
        }
        try AgentService.validateVerdict(request)
        // Make before break: the extension this one replaces keeps running until this one is
        // attached. Permission to detach it is checked before anything else is revealed.
        let replaced: ExtensionRecord?
        if !request.replacesID.isEmpty {
            let old = try findVisible(id: request.replacesID, name: "", to: peer)
            try authorize(.detach(owner: old.ownerUID), peer)
            replaced = old.state == .detached ? nil : old
        } else {
            replaced = nil
        }
        var checked: CheckedProgram?
        var choice: BackendChoice?
        switch kind {
        case .bpftrace:
            guard request.object.isEmpty else { throw RPCStatusError(.invalidArgument, "a bpftrace attach carries no object bytes") }
            let program = try checkScript(request.programText)
            checked = program
            // After the policy check, and on the text it approved: the policy binds a native
            // program exactly as it binds a bpftrace one.
            choice = try supervisor.builder.choose(program.text, requested: request.backend, uid: peer.uid)
        case .bpfObject:
            guard request.programText.isEmpty else { throw RPCStatusError(.invalidArgument, "an object attach carries no script text") }
            guard request.backend == .unspecified else {
                throw RPCStatusError(.invalidArgument, "a backend is chosen only for bpftrace scripts, not for objects")
            }
            try checkObject(request.object)
        }
        let policy = configuration.policy
        let registry = self.registry
        let program = checked
        let backend = choice
        // Limits and the `attaching` record are decided under one gate so racing attaches
        // cannot overrun a limit; the kernel work happens outside it.
        let record: ExtensionRecord = try await attachGate.run { () throws -> ExtensionRecord in
            // The replaced extension's slot is the new one's: it goes once the new one runs.
            let freed = replaced.map { $0.ownerUID == peer.uid ? 1 : 0 } ?? 0
            let mine = try registry.liveCount(ownerUID: peer.uid) + self.verifyingCount(peer.uid) - freed
            guard mine < policy.maxExtensionsPerUID else {
                throw RPCStatusError(.resourceExhausted, "uid \(peer.uid) already has \(mine) extensions (limit \(policy.maxExtensionsPerUID))",
                                     hint: "detach one (kenc list, kenc detach ID)")
            }
            let total = try registry.liveCount() - (replaced == nil ? 0 : 1)
            guard total < policy.maxExtensionsTotal else {
                throw RPCStatusError(.resourceExhausted, "the agent already runs \(total) extensions (limit \(policy.maxExtensionsTotal))",
                                     hint: "detach some, or raise limits.extensions_total")
            }
            let id = try registry.newID()
            var name = request.name.isEmpty ? id : request.name
            // Two live extensions cannot share a name: while both run, the new one carries a
            // transitional name that reconciliation recognises should the agent die meanwhile.
            if let replaced, replaced.name == name { name = ExtensionSupervisor.transitionalName(name, id: id) }
            let record = ExtensionRecord(
                id: id, name: name, ownerUID: peer.uid, kind: kind,
                programText: program?.text ?? "", object: [UInt8](request.object), prompt: request.prompt,
                annotatedProgram: request.annotatedProgram, probes: program?.probes ?? [],
                state: .attaching, restartPolicy: restartPolicy, manifestDigest: request.manifestDigest,
                verdict: ProofVerdict(proto: request.verdict), provenAsserts: request.provenAsserts.map(ProvenClaim.init(proto:)),
                unprovenReason: request.unprovenReason,
                backend: backend?.backend ?? .none, backendReason: backend?.reason ?? "")
            do {
                try registry.insert(record)
                if let artifact = backend?.artifact { try registry.setNativeArtifact(id: id, artifact) }
            } catch RegistryError.nameInUse(let name) {
                throw RPCStatusError(.invalidArgument, "an extension named \"\(name)\" already exists",
                                     hint: "detach it first (kenc detach --name \(name)) or choose another --name")
            }
            return record
        }
        logger.info("attaching", metadata: ["id": "\(record.id)", "name": "\(record.name)", "uid": "\(peer.uid)", "kind": "\(kind.rawValue)",
                                            "via": "\(via.map { "kend uid \($0.uid) pid \($0.pid)" } ?? "direct")"])
        if let via { supervisor.notes(record.id).append("attached for uid \(peer.uid) through kend (uid \(via.uid), pid \(via.pid))") }
        if case let .bpftrace(reason, note)? = choice {
            if let note { supervisor.notes(record.id).append(note) }
            supervisor.notes(record.id).append("runs on bpftrace: \(reason)")
        }
        var attached: ExtensionRecord
        do {
            attached = try await supervisor.start(record, unsafe: checked?.needsUnsafeFlag ?? false, artifact: choice?.artifact)
        } catch {
            // It never ran: the caller has the error, and `kenc list` keeps nothing to detach by
            // hand. The record stays, detached with its error, so `kenc show ID` still explains it.
            // An extension that attached and later fails is `failed` and stays listed.
            _ = try? registry.modify(id: record.id) {
                $0.state = .detached
                $0.pid = 0
            }
            supervisor.notes(record.id).append("never attached: not listed")
            if let replaced { supervisor.notes(replaced.id).append("kept running: its replacement \(record.id) did not attach") }
            throw error
        }
        if let replaced {
            attached = try await supervisor.completeReplacement(of: replaced, by: attached)
        }
        return Ken_V1_AttachReply.with { $0.extension = proto(attached) }
    }

    func detach(_ record: ExtensionRecord, by peer: PeerCredentials) async throws -> ExtensionRecord {
        logger.info("detaching", metadata: ["id": "\(record.id)", "uid": "\(peer.uid)"])
        return try await supervisor.detach(id: record.id, reason: "detached by uid \(peer.uid)")
    }
}
