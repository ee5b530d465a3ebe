import KenProto
import KenRPC
import Synthesis

/// The kernel stage of the loop: ken-agent's VerifyOnly, or Attach.
///
/// The agent answers FAILED_PRECONDITION when bpftrace or the kernel verifier refused the
/// program; that log is the program's fault and goes back to the model, summarised first
/// (cause and hint) and then intact. Any other failure (agent down, permission denied, a limit)
/// is not the program's fault and stops the task.
public struct AgentGate: KernelGate {
    public let agent: AgentEndpoint
    /// How long the agent may take to load (and attach) a program.
    public let timeout: Duration

    public init(agent: AgentEndpoint, timeout: Duration = .seconds(60)) {
        self.agent = agent
        self.timeout = timeout
    }

    public func submit(_ submission: KernelSubmission) async throws -> Result<Ken_V1_Extension?, StageFailure> {
        var request = Ken_V1_AgentRequest()
        if submission.attach {
            request.attach = Ken_V1_AttachRequest.with {
                $0.name = submission.name
                $0.kind = .bpftrace
                $0.programText = submission.program
                $0.prompt = submission.prompt
                $0.annotatedProgram = submission.annotated
                $0.verdict = submission.verdict.proto
                $0.provenAsserts = submission.verdict.provenAsserts
                $0.unprovenReason = submission.verdict.unprovenReason
            }
        } else {
            request.verifyOnly = Ken_V1_VerifyOnlyRequest.with {
                $0.kind = .bpftrace
                $0.programText = submission.program
            }
        }
        if let user = EndUser.current {
            // kend acts for this caller: the agent checks that we are its configured kend user,
            // then authorizes and records the caller.
            request.onBehalfOf = Ken_V1_OnBehalfOf.with {
                $0.uid = user.uid
                $0.gid = user.gid
                $0.pid = user.pid
            }
        }
        let response = try await agent.call(request, timeout: timeout)
        let stage: Ken_V1_Stage = submission.attach ? .attach : .kernelVerify
        switch response.status.code {
        case .ok:
            if case .verifyOnly(let reply) = response.result, !reply.accepted {
                return .failure(Self.rejection(stage: stage, message: "the kernel verifier rejected the program", log: reply.log))
            }
            if case .attach(let reply) = response.result { return .success(reply.extension) }
            return .success(nil)
        case .failedPrecondition, .invalidArgument:
            return .failure(Self.rejection(stage: stage, message: response.status.message, log: response.status.detail))
        default:
            throw AgentRefusal(status: response.status, socketPath: agent.socketPath)
        }
    }

    /// The feedback for a kernel rejection: the summary, then the raw log.
    static func rejection(stage: Ken_V1_Stage, message: String, log: String) -> StageFailure {
        let summary = KernelRejection.summarise(log.isEmpty ? message : log)
        var feedback = "\(message)\n\(summary.rendered)"
        if !log.isEmpty { feedback += "\nraw log:\n\(log.suffix(6000))" }
        return StageFailure(stage: stage, feedback: feedback)
    }
}

/// ken-agent refused for a reason that is not the program's.
public struct AgentRefusal: Error, CustomStringConvertible {
    public var status: Ken_V1_Status
    public var socketPath: String
    public var description: String {
        var text = "ken-agent (\(socketPath)) answered \(status.code): \(status.message)"
        if !status.hint.isEmpty { text += " (hint: \(status.hint))" }
        return text
    }
}
