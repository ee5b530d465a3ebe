import Foundation
import KenProto
import KenRPC

/// Answers every ken-agent call with data derived from the request, records what it got and
/// what it answered. `expectedFinal` is the same derivation, so tests compare exact messages.
struct TestAgentHandler: RPCHandler {
    let recorder = CallRecorder<Ken_V1_AgentRequest, Ken_V1_AgentResponse>()
    /// How long `verifyOnly` takes (lets tests keep a call in flight).
    var verifyDelay: Duration = .zero

    func handle(_ request: Ken_V1_AgentRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
        recorder.request(request, peer: context.peer)
        if case .logs(let logs) = request.call {
            return try await streamLogs(logs, context: context)
        }
        if case .verifyOnly = request.call, verifyDelay > .zero {
            do {
                try await Task.sleep(for: verifyDelay)
            } catch {
                recorder.cancelled(context.requestID)
                throw error
            }
        }
        let response = Self.expectedFinal(for: request, peer: context.peer)
        recorder.response(response, for: context.requestID)
        return response
    }

    private func streamLogs(_ logs: Ken_V1_LogsRequest, context: RPCCallContext<Ken_V1_AgentResponse>) async throws -> Ken_V1_AgentResponse {
        let count = max(1, Int(logs.tail))
        let sendCount = logs.follow ? count : count - 1
        for index in 0..<sendCount {
            let line = Self.logLine(logs, index: index)
            recorder.response(line, for: context.requestID)
            try await context.send(line)
        }
        if logs.follow {
            // Keep streaming until cancelled, like `ken logs -f`.
            var index = sendCount
            do {
                while true {
                    try await Task.sleep(for: .milliseconds(20))
                    try await context.send(Self.logLine(logs, index: index))
                    index += 1
                }
            } catch {
                recorder.cancelled(context.requestID)
                throw error
            }
        }
        let last = Self.logLine(logs, index: count - 1)
        recorder.response(last, for: context.requestID)
        return last
    }

    static func logLine(_ logs: Ken_V1_LogsRequest, index: Int) -> Ken_V1_AgentResponse {
        var response = Ken_V1_AgentResponse()
        response.log = Ken_V1_LogLine.with {
            $0.extensionID = logs.id
            $0.timeUnixMs = 1_700_000_000_000 + Int64(index)
            $0.stream = "stdout"
            $0.text = "\(logs.name) line \(index)"
        }
        return response
    }

    static func extensionFor(name: String, id: String) -> Ken_V1_Extension {
        Ken_V1_Extension.with {
            $0.id = id
            $0.name = name
            $0.state = .attached
            $0.progIds = [10, 11]
            $0.probes = ["tracepoint:syscalls:sys_enter_openat"]
        }
    }

    /// The final answer to every non-streaming call.
    static func expectedFinal(for request: Ken_V1_AgentRequest, peer: PeerCredentials) -> Ken_V1_AgentResponse {
        var response = Ken_V1_AgentResponse()
        switch request.call {
        case .status:
            response.statusReply = Ken_V1_AgentStatusReply.with {
                $0.version = "0.1.0-test"
                $0.kernelRelease = "6.18.0-test"
                $0.bpftraceVersion = "v0.17.0"
                $0.extensionsTotal = 3
                $0.extensionsAttached = 2
                $0.extensionsFailed = 1
                $0.uptimeSeconds = 12.5
                $0.pid = 4242
                $0.peerUid = peer.uid
                $0.peerGid = peer.gid
                $0.peerPid = peer.pid
            }
        case .attach(let attach):
            response.attach = Ken_V1_AttachReply.with {
                $0.extension = Ken_V1_Extension.with {
                    $0.id = "ext-\(attach.name)"
                    $0.name = attach.name
                    $0.kind = attach.kind
                    $0.programText = attach.programText
                    $0.objectSha256 = attach.object.isEmpty ? "" : "\(attach.object.count)-bytes"
                    $0.prompt = attach.prompt
                    $0.annotatedProgram = attach.annotatedProgram
                    $0.restartPolicy = attach.restartPolicy
                    $0.ownerUid = peer.uid
                    $0.state = .attached
                }
            }
        case .verifyOnly(let verify):
            response.verifyOnly = Ken_V1_VerifyOnlyReply.with {
                $0.accepted = verify.kind == .bpftrace
                $0.log = "verified: \(verify.programText)"
                $0.programs = ["prog-\(verify.object.count)"]
            }
        case .list(let list):
            response.list = Ken_V1_ListReply.with {
                $0.extensions = [extensionFor(name: "a", id: "1"), extensionFor(name: "b", id: "2")]
                if list.all {
                    $0.programs = [Ken_V1_KernelProgram.with { $0.id = 77; $0.type = "tracepoint"; $0.name = "other" }]
                }
            }
        case .get(let get):
            response.get = Ken_V1_GetReply.with { $0.extension = extensionFor(name: get.name, id: get.id) }
        case .detach(let detach):
            response.detach = Ken_V1_DetachReply.with {
                $0.extension = extensionFor(name: detach.name, id: detach.id)
                $0.extension.state = .detached
            }
        case .logs, .cancel, nil:
            break
        }
        return response
    }
}

/// Answers every kend call; `synthesize` streams one event per stage, then the report.
struct TestKendHandler: RPCHandler {
    let recorder = CallRecorder<Ken_V1_KendRequest, Ken_V1_KendResponse>()
    static let stages: [Ken_V1_Stage] = [.prompt, .llm, .parse, .resolve, .symbolicVerify]

    func handle(_ request: Ken_V1_KendRequest, context: RPCCallContext<Ken_V1_KendResponse>) async throws -> Ken_V1_KendResponse {
        recorder.request(request, peer: context.peer)
        if case .synthesize(let synthesize) = request.call {
            for event in Self.events(for: synthesize) {
                recorder.response(event, for: context.requestID)
                try await context.send(event)
            }
        }
        let response = Self.expectedFinal(for: request)
        recorder.response(response, for: context.requestID)
        return response
    }

    static func events(for synthesize: Ken_V1_SynthesizeRequest) -> [Ken_V1_KendResponse] {
        stages.enumerated().map { index, stage in
            var response = Ken_V1_KendResponse()
            response.event = Ken_V1_SynthesisEvent.with {
                $0.taskID = "task-\(synthesize.name)"
                $0.attempt = 1
                $0.stage = stage
                $0.message = "stage \(index) for \(synthesize.prompt)"
                $0.elapsedSeconds = Double(index) / 10
                if stage == .parse {
                    $0.errors = [Ken_V1_Diagnostic.with { $0.severity = .warning; $0.line = 3; $0.column = 7; $0.message = "unused map" }]
                }
            }
            return response
        }
    }

    static func expectedFinal(for request: Ken_V1_KendRequest) -> Ken_V1_KendResponse {
        var response = Ken_V1_KendResponse()
        switch request.call {
        case .status:
            response.statusReply = Ken_V1_KendStatusReply.with {
                $0.version = "0.1.0-test"
                $0.kernelRelease = "6.18.0-test"
                $0.llmEndpoint = "http://127.0.0.1:8080/v1"
                $0.llmModel = "test-model"
                $0.examples = 120
                $0.agentVersion = "0.1.0-test"
                $0.uptimeSeconds = 3.25
            }
        case .synthesize(let synthesize):
            response.report = Ken_V1_SynthesisReport.with {
                $0.taskID = "task-\(synthesize.name)"
                $0.passed = true
                $0.attached = synthesize.attach
                $0.program = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"
                $0.source = "llm"
                $0.note = synthesize.hints.joined(separator: "; ")
                $0.attempts = [Ken_V1_Attempt.with { $0.number = 1; $0.promptTokens = 100; $0.completionTokens = 40 }]
            }
        case .verify(let verify):
            response.verify = Ken_V1_VerifyReply.with {
                $0.verdict = .verified
                $0.annotatedProgram = verify.program
                $0.asserts = [Ken_V1_AssertVerdict.with {
                    $0.file = verify.fileName
                    $0.line = 2
                    $0.verdict = .verified
                    $0.model = [Ken_V1_ModelValue.with { $0.name = "pid"; $0.value = "1" }]
                }]
            }
        case .apply(let apply):
            response.apply = Ken_V1_ApplyReply.with {
                $0.actions = apply.manifests.map { manifest in
                    Ken_V1_ApplyAction.with { $0.name = manifest.name; $0.action = apply.dryRun ? "unchanged" : "create" }
                }
                $0.changed = !apply.dryRun
            }
        case .examples(let examples):
            response.examples = Ken_V1_ExamplesReply.with {
                $0.examples = [Ken_V1_ExampleEntry.with { $0.id = examples.id; $0.prompts = [examples.prompt] }]
            }
        case .cancel, nil:
            break
        }
        return response
    }
}

/// Strips what the server sets (id, more) so a received response compares with what the
/// handler produced.
func normalized<R: RPCResponseEnvelope>(_ response: R) -> R {
    var copy = response
    copy.id = 0
    copy.more = false
    return copy
}
