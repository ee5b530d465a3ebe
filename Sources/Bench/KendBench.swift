import AgentCore
import Contracts
import ExampleStore
import Foundation
import KendCore
import KenProto
import KenRPC
import KernelInfo
import Pipeline
import Synthesis

/// kend: Ken's own overhead per synthesis attempt — prompt building, front end, comprehension,
/// symbolic verification and the kernel verifier through the agent — with the LLM taken out.
///
/// Candidates come from the example library (no LLM), so the "LLM" stage is a retrieval; it is
/// reported apart and subtracted. Each corpus prompt runs one attempt with VerifyOnly, i.e. a
/// real load through the kernel verifier.
public enum KendBench {
    public static func run(kernel: KernelInfo, corpus: URL, prompts: Int, contracts: ContractStore?) async -> [Row] {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ken-bench-kend-\(getpid())")
        defer { try? FileManager.default.removeItem(at: base) }
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            let socket = base.appendingPathComponent("agent.sock").path
            let agent = try await AgentServer.start(
                configuration: AgentConfiguration(stateDirectory: base.appendingPathComponent("agent").path,
                                                  pinRoot: "/sys/fs/bpf/ken-bench-kend-\(getpid())"),
                endpoint: .path(socket))
            defer { Task { await agent.shutdown() } }
            let store = try ExampleStore(ExampleStore.Configuration(corpusDirectory: corpus, toolDirectories: []))
            let examples = await store.all().filter { example in
                !example.needsUnsafe && example.probes.allSatisfy { $0.hasPrefix("tracepoint:") }
            }.prefix(prompts)
            var overhead = Samples()
            var own = Samples()
            var perStage: [Ken_V1_Stage: Samples] = [:]
            var failures: [String] = []
            let pipeline = try SynthesisPipeline.assemble(PipelineConfiguration(
                kernel: kernel, examples: store, contracts: contracts.map(ContractsSupply.open), agent: AgentEndpoint(socketPath: socket)))
            let engine = SynthesisEngine(pipeline: pipeline, cache: nil,
                                         tasks: TaskStore(directory: base.appendingPathComponent("tasks")),
                                         kernelRelease: kernel.release, corpusVersion: "bench")
            for example in examples {
                // Each corpus program stands in for the LLM's answer: one attempt, every stage.
                let pinned = PinnedSource(program: example.program, origin: .library(exampleID: example.id, similarity: 1),
                                          label: "corpus example", fallback: nil)
                let report = try await engine.synthesize(.with {
                    $0.prompt = example.prompt
                    $0.maxAttempts = 1
                    $0.verifyOnly = true
                }, pinned: pinned) { _ in }
                guard report.passed, let attempt = report.attempts.first else {
                    failures.append(example.id)
                    continue
                }
                var total = 0.0
                var ownTotal = 0.0
                for timing in attempt.timings where timing.stage != .llm {
                    total += timing.seconds * 1000
                    if timing.stage != .kernelVerify, timing.stage != .attach { ownTotal += timing.seconds * 1000 }
                    perStage[timing.stage, default: Samples()].add(timing.seconds * 1000)
                }
                overhead.add(total)
                own.add(ownTotal)
            }
            var rows = [overhead.row("kend", "overhead per attempt (no LLM)", target: "p95 < 1000 ms",
                                     note: "\(overhead.count) corpus programs through every stage, kernel verifier included"
                                         + (failures.isEmpty ? "" : "; not verified: \(failures.joined(separator: ", "))")),
                        own.row("kend", "Ken's own stages per attempt", note: "prompt, front end, comprehension and symbolic verifier: everything but the LLM and the kernel")]
            for stage in [Ken_V1_Stage.prompt, .parse, .comprehend, .symbolicVerify, .kernelVerify] {
                if let samples = perStage[stage] { rows.append(samples.row("kend", "  stage: \(stage.displayName)")) }
            }
            return rows
        } catch {
            return [Row(section: "kend", metric: "overhead per attempt", samples: 0, unit: "ms",
                        note: "kend benchmark failed: \(error)")]
        }
    }
}
