import Foundation
import XCTest

/// Paths and preconditions shared by the evaluation tests.
enum EvalFixtures {
    /// The repository root, found from this file even when the test folder is a symlink.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var datasetPath: String { repositoryRoot.appendingPathComponent("eval/prompts.jsonl").path }
    static var corpusPath: String { repositoryRoot.appendingPathComponent("corpus/examples").path }

    /// Root, bpftrace on PATH, and tracefs: what attaching a real extension needs.
    static func requireKernel() throws {
        guard getuid() == 0 else { throw XCTSkip("not root: ken-agent cannot attach extensions") }
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard paths.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/bpftrace") }) else {
            throw XCTSkip("bpftrace is not installed")
        }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events")
                || FileManager.default.fileExists(atPath: "/sys/kernel/debug/tracing/events") else {
            throw XCTSkip("tracefs is not mounted: tracepoints cannot be attached")
        }
    }
}
