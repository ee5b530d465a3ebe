import ExampleStore
import Foundation
import LLM
import TestSupport
import XCTest

/// Embedding retrieval against the scripted OpenAI-compatible server returning fixed vectors.
final class EmbeddingTests: XCTestCase {
    /// Three examples whose texts sort as A < B < C, so the first embeddings request is
    /// ["count file opens", "histogram of disk latency", "trace tcp connections"].
    private func smallCorpus() throws -> URL {
        let directory = try Fixtures.temporaryDirectory()
        let examples = [
            ("a-opens", "count file opens", "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"),
            ("b-disk", "histogram of disk latency", "tracepoint:block:block_rq_issue { @ = count(); }"),
            ("c-tcp", "trace tcp connections", "tracepoint:sock:inet_sock_set_state { @ = count(); }"),
        ]
        for (id, prompt, program) in examples {
            try "// ken-example: \(id)\n// prompt: \(prompt)\n// tags: test\n// needs-unsafe: no\n\n\(program)\n"
                .write(to: directory.appendingPathComponent("\(id).bt"), atomically: true, encoding: .utf8)
        }
        return directory
    }

    private func embedder(_ server: ScriptedLLMServer) throws -> LLMEmbedder {
        let client = try LLMClient(configuration: LLMConfiguration(
            baseURL: server.baseURL, model: "chat", embeddingModel: "embed-test", connectTimeout: 2,
            totalTimeout: 5, maxRetries: 0))
        return try XCTUnwrap(LLMEmbedder(client: client))
    }

    func testEmbeddingsRankByCosineAndAreCached() async throws {
        let corpus = try smallCorpus()
        let state = try Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: state)
        }
        let server = try ScriptedLLMServer(script: [
            .embeddings([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
            // Worded like "count file opens", but the vector points at the tcp example: the ranking
            // must follow the vectors, not the words.
            .embeddings([[0, 0.2, 1]]),
            .embeddings([[0, 1, 0]]),
            .embeddings([[1, 0.1, 0]]),
        ])
        defer { server.stop() }
        let configuration = ExampleStore.Configuration(corpusDirectory: corpus, toolDirectories: [],
                                                       stateDirectory: state, embedder: try embedder(server))
        let store = try ExampleStore(configuration)
        let outcome = await store.search("count file opens", k: 3)
        XCTAssertEqual(outcome.method, .embeddings, outcome.note ?? "")
        XCTAssertEqual(outcome.results.map(\.example.id), ["c-tcp", "b-disk", "a-opens"])
        XCTAssertEqual(outcome.results[0].similarity, 1 / (1.04).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(outcome.results[2].similarity, 0, accuracy: 1e-9)

        let best = await store.bestMatch("anything")
        XCTAssertEqual(best?.example.id, "b-disk")
        XCTAssertEqual(best?.similarity ?? 0, 1, accuracy: 1e-9)

        let requests = server.requests
        XCTAssertEqual(requests.count, 3, "documents embedded once, then one request per query")
        XCTAssertEqual(requests[0].jsonObject()?["input"] as? [String],
                       ["count file opens", "histogram of disk latency", "trace tcp connections"])
        XCTAssertEqual(requests[0].jsonObject()?["model"] as? String, "embed-test")
        XCTAssertEqual(requests[1].jsonObject()?["input"] as? [String], ["count file opens"])
        XCTAssertEqual(requests[2].jsonObject()?["input"] as? [String], ["anything"])

        // Restarted kend: the document vectors come from the cache file in the state directory.
        let reopened = try ExampleStore(configuration)
        let again = await reopened.search("opens", k: 1)
        XCTAssertEqual(again.results.first?.example.id, "a-opens")
        XCTAssertEqual(server.requests.count, 4)
        XCTAssertEqual(server.requests[3].jsonObject()?["input"] as? [String], ["opens"])
    }

    func testEndpointDownFallsBackToBM25WithANote() async throws {
        let corpus = try smallCorpus()
        defer { try? FileManager.default.removeItem(at: corpus) }
        let port = try ScriptedLLMServer.closedPort()
        let client = try LLMClient(configuration: LLMConfiguration(
            baseURL: "http://127.0.0.1:\(port)/v1", model: "chat", embeddingModel: "embed-test",
            connectTimeout: 2, totalTimeout: 5, maxRetries: 0))
        let store = try ExampleStore(.init(corpusDirectory: corpus, toolDirectories: [],
                                           embedder: try XCTUnwrap(LLMEmbedder(client: client))))
        let outcome = await store.search("disk latency histogram", k: 1)
        XCTAssertEqual(outcome.method, .bm25)
        XCTAssertEqual(outcome.results.first?.example.id, "b-disk")
        XCTAssertTrue(outcome.note?.contains("127.0.0.1:\(port)") ?? false, outcome.note ?? "no note")
    }
}
