import AgentCore
import Comprehension
import Contracts
import Foundation
import KendCore
import KenClient
import KenProto
import KenRPC
import KernelInfo
import LLM
import Pipeline
import Synthesis
import TestSupport
import XCTest

/// The paper's case study, end to end against a scripted OpenAI-compatible server and the real
/// kernel: the first candidate prints a TCP port read from `struct sock` without a byte swap; the
/// comprehension's annotations say the printed port is in host order; the verifier's
/// counterexample goes back to the model; the second candidate swaps, verifies, and ken-agent
/// attaches it.
///
/// The paper traces `tcp_connect` with a kprobe; this kernel has no kprobes and refuses fentry,
/// so the same `__be16` read is made from the `sock:inet_sock_set_state` tracepoint, whose
/// `skaddr` is the `struct sock`.
final class PaperCaseStudyTests: XCTestCase {
    static let prompt = "print the destination port of every TCP connection as it is established, in host byte order"

    static func candidate(swapped: Bool) -> String {
        let read = swapped ? "bswap($raw)" : "$raw"
        return """
            tracepoint:sock:inet_sock_set_state
            /args->newstate == 1/
            {
              $sk = (struct sock *)args->skaddr;
              $raw = $sk->__sk_common.skc_dport;
              $dport = \(read);
              printf("established: port %d\\n", $dport);
            }
            """
    }

    /// About `$raw`, the port as the program read it: kernel memory read a second time could
    /// hold another value, so the assert names the program's own read (docs/semantics.md).
    static let annotations = """
        The printed port must be the host-order value of the socket's destination port:

        ```annotations
        tracepoint:sock:inet_sock_set_state {
          assert($dport == bswap($raw), "the port is printed in host byte order");
        }
        ```
        """

    func testByteOrderCounterexampleIsFedBackThenTheFixedProgramIsAttached() async throws {
        guard getuid() == 0 else { throw XCTSkip("not root: ken-agent cannot attach the verified program") }
        let kernel = try Fixtures.requireTracefs()
        guard kernel.btf != nil else { throw XCTSkip("no kernel BTF: struct sock cannot be typed") }
        guard kernel.catalogue.contains(.tracepoint, "sock:inet_sock_set_state") else {
            throw XCTSkip("this kernel has no sock:inet_sock_set_state tracepoint")
        }
        let contracts = try Fixtures.contracts()
        let state = try Fixtures.temporaryDirectory("paper")
        let socket = state.appendingPathComponent("agent.sock").path
        let agent = try await AgentServer.start(
            configuration: AgentConfiguration(stateDirectory: state.appendingPathComponent("agent").path,
                                              pinRoot: "/sys/fs/bpf/ken-test-paper-\(getpid())"),
            endpoint: .path(socket))
        let server = try ScriptedLLMServer(script: [
            .completion(Fixtures.reply(Self.candidate(swapped: false))),   // synthesis, attempt 1
            .completion(Self.annotations),                                  // comprehension, attempt 1
            .completion(Fixtures.reply(Self.candidate(swapped: true))),    // synthesis, attempt 2
            .completion(Self.annotations),                                  // comprehension, attempt 2
        ])
        let llm = try Fixtures.llm(server)
        let pipeline = try SynthesisPipeline.assemble(PipelineConfiguration(
            kernel: kernel, llm: llm, contracts: .open(contracts), annotationLog: AnnotationLog(stateDirectory: state.path),
            agent: AgentEndpoint(socketPath: socket)))
        let engine = SynthesisEngine(pipeline: pipeline, cache: nil,
                                     tasks: TaskStore(directory: state.appendingPathComponent("tasks")),
                                     kernelRelease: kernel.release, corpusVersion: "test")

        let report = try await engine.synthesize(Ken_V1_SynthesizeRequest.with {
            $0.prompt = Self.prompt
            $0.attach = true
            $0.name = "tcp-ports"
        }) { _ in }

        let requests = server.requests
        XCTAssertEqual(requests.count, 4, "synthesis and comprehension, twice")
        XCTAssertTrue(report.passed && report.attached, ReportFormatting.text(report))
        XCTAssertEqual(report.attempts.count, 2)
        // The first attempt failed in the symbolic verifier, with a counterexample.
        let firstErrors = report.attempts.first?.errors.map { $0.rendered.isEmpty ? $0.message : $0.rendered }.joined() ?? ""
        XCTAssertTrue(firstErrors.contains("VIOLATED"), firstErrors)
        // The counterexample went back to the model in the second synthesis request.
        let secondSynthesis = Fixtures.userText(requests[2])
        XCTAssertTrue(secondSynthesis.contains("VIOLATED assert($dport == bswap($raw)"), secondSynthesis)
        XCTAssertTrue(secondSynthesis.contains("$sk->__sk_common.skc_dport ="), "the model values are shown:\n\(secondSynthesis)")
        XCTAssertTrue(secondSynthesis.contains("__be16"), "Ken's own byte-order check goes back too:\n\(secondSynthesis)")
        // The comprehension request carried the candidate, the prompt and the contracts.
        let comprehension = Fixtures.userText(requests[1]) + (requests[1].jsonObject().map { "\($0)" } ?? "")
        XCTAssertTrue(comprehension.contains("skc_dport"), comprehension)
        XCTAssertTrue(comprehension.contains("host byte order"), comprehension)
        // What runs is the swapped program, without annotations; what was proven is kept.
        XCTAssertTrue(report.program.contains("bswap"), report.program)
        XCTAssertTrue(report.annotatedProgram.contains("assert("), report.annotatedProgram)
        XCTAssertEqual(report.verdicts.map(\.verdict), [.verified])
        let client = try await AgentClient.connect(path: socket)
        let shown = try await client.call(.with { $0.get = .with { $0.id = report.extension.id } })
        XCTAssertEqual(shown.get.extension.state, .attached)
        XCTAssertFalse(shown.get.extension.progIds.isEmpty, "the kernel holds the program")
        XCTAssertFalse(shown.get.extension.programText.contains("assert("), "annotations never reach the kernel")
        XCTAssertTrue(shown.get.extension.annotatedProgram.contains("assert("), "kenc show can print what was proven")
        _ = try await client.call(.with { $0.detach = .with { $0.id = report.extension.id } })
        await client.close()
        await agent.shutdown()
        server.stop()
    }
}
