import Comprehension
import Contracts
import Foundation
import KernelInfo
import LLM
import SymbolicVerifier
import TestSupport
import XCTest

/// The real kernel's contracts and types, loaded once for the whole target.
enum ComprehensionFixture {
    static let directory = NSTemporaryDirectory() + "ken-comprehension-tests-\(getpid())"

    static let shared: Result<ContractStore, ContractsError> = {
        do {
            let store = try ContractStore.open(stateDirectory: directory, kernel: { KernelInfo.shared() })
            // The open store keeps reading the unlinked file; nothing is left in /tmp.
            try? FileManager.default.removeItem(atPath: directory)
            return .success(store)
        } catch let error as ContractsError {
            return .failure(error)
        } catch {
            return .failure(.storage("\(error)"))
        }
    }()

    static func store() throws -> ContractStore {
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/btf/vmlinux") else {
            throw XCTSkip("no kernel BTF at /sys/kernel/btf/vmlinux")
        }
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/tracing/available_events") else {
            throw XCTSkip("tracefs not mounted at /sys/kernel/tracing")
        }
        return try shared.get()
    }

    /// An engine over the real kernel, with an LLM client for `server` when given.
    /// `logDirectory`: where the annotation log goes (the caller removes it).
    static func engine(server: ScriptedLLMServer? = nil, logDirectory: String? = nil) throws -> ComprehensionEngine {
        let store = try store()
        var client: LLMClient?
        if let server {
            client = try LLMClient(configuration: LLMConfiguration(baseURL: server.baseURL, model: "test-model",
                                                                   maxRetries: 0))
        }
        let log = logDirectory.map { AnnotationLog(stateDirectory: $0) }
        return ComprehensionEngine(contracts: store, llm: client, kernel: KernelInfo.shared(),
                                   verifier: SymbolicVerifier(options: VerificationOptions(queryTimeout: .seconds(10),
                                                                                           totalBudget: .seconds(30))),
                                   log: log)
    }

    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "ken-annotation-log-\(UUID().uuidString)"
    }

    static func reply(_ block: String) -> ScriptedLLMServer.Step {
        .completion("Here are the annotations.\n```annotations\n\(block)\n```\n")
    }
}
