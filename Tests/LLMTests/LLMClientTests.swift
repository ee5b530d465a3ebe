import Foundation
import HTTP
import LLM
import TestSupport
import XCTest

/// Every test talks to a real HTTP server on 127.0.0.1 through libcurl.
final class LLMClientTests: XCTestCase {
    private var temporaryFiles: [URL] = []

    override func tearDown() {
        for file in temporaryFiles { try? FileManager.default.removeItem(at: file) }
        super.tearDown()
    }

    private func keyFile(_ contents: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ken-key-\(UUID().uuidString)")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        temporaryFiles.append(url)
        return url.path
    }

    private func configuration(_ server: ScriptedLLMServer, key: APIKeySource = .none) -> LLMConfiguration {
        LLMConfiguration(baseURL: server.baseURL, model: "test-model", embeddingModel: "embed-model",
                         apiKey: key, temperature: 0.3, maxTokens: 500, connectTimeout: 2,
                         totalTimeout: 10, maxRetries: 2, initialBackoff: 0.05, maxBackoff: 0.2,
                         maxRetryAfter: 5)
    }

    func testNormalCallSendsModelMessagesTemperatureAndKeyFromFile() async throws {
        let server = try ScriptedLLMServer(script: [.completion("```bpftrace\nBEGIN { exit(); }\n```",
                                                                promptTokens: 120, completionTokens: 30)])
        defer { server.stop() }
        let path = try keyFile("sk-test-secret\n")
        let client = try LLMClient(configuration: configuration(server, key: .file(path)))
        let reply = try await client.complete([.system("You write bpftrace."), .user("trace opens")])

        XCTAssertEqual(reply.content, "```bpftrace\nBEGIN { exit(); }\n```")
        XCTAssertEqual(reply.finishReason, "stop")
        XCTAssertEqual(reply.metrics.promptTokens, 120)
        XCTAssertEqual(reply.metrics.completionTokens, 30)
        XCTAssertEqual(reply.metrics.attempts, 1)
        XCTAssertGreaterThan(reply.metrics.latency, .zero)
        XCTAssertEqual(reply.metrics.endpoint, server.baseURL + "/chat/completions")

        let requests = server.requests
        XCTAssertEqual(requests.count, 1)
        let request = try XCTUnwrap(requests.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/v1/chat/completions")
        XCTAssertEqual(request.headers["authorization"], "Bearer sk-test-secret")
        XCTAssertEqual(request.headers["content-type"], "application/json")
        let json = try XCTUnwrap(request.jsonObject())
        XCTAssertEqual(json["model"] as? String, "test-model")
        XCTAssertEqual(json["temperature"] as? Double, 0.3)
        XCTAssertEqual(json["max_tokens"] as? Int, 500)
        let messages = try XCTUnwrap(json["messages"] as? [[String: String]])
        XCTAssertEqual(messages, [["role": "system", "content": "You write bpftrace."],
                                  ["role": "user", "content": "trace opens"]])
        let totals = await client.usage.totalPromptTokens
        XCTAssertEqual(totals, 120)
    }

    func testNoKeyMeansNoAuthorizationHeader() async throws {
        let server = try ScriptedLLMServer(script: [.completion("hi")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        _ = try await client.complete([.user("hello")], temperature: 0, maxTokens: 7)
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertNil(request.headers["authorization"])
        let json = try XCTUnwrap(request.jsonObject())
        XCTAssertEqual(json["temperature"] as? Double, 0)
        XCTAssertEqual(json["max_tokens"] as? Int, 7)
    }

    func testRateLimitedThenSuccessHonoursRetryAfterSeconds() async throws {
        let server = try ScriptedLLMServer(script: [.rateLimited(retryAfter: "1"), .completion("ok")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await client.complete([.user("x")])
        let elapsed = clock.now - start
        XCTAssertEqual(reply.content, "ok")
        XCTAssertEqual(reply.metrics.attempts, 2)
        XCTAssertEqual(server.requests.count, 2)
        // Backoff alone would wait 0.05s; the server's Retry-After asked for one second.
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(950))
        XCTAssertLessThan(elapsed, .seconds(4))
    }

    func testRetryAfterHTTPDateIsParsed() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let header = formatter.string(from: now.addingTimeInterval(7))
        let seconds = try XCTUnwrap(RetryAfter.seconds(from: header, now: now))
        XCTAssertEqual(seconds, 7, accuracy: 0.001)
        XCTAssertEqual(RetryAfter.seconds(from: "3", now: now), 3)
        XCTAssertEqual(RetryAfter.seconds(from: formatter.string(from: now.addingTimeInterval(-50)), now: now), 0)
        XCTAssertNil(RetryAfter.seconds(from: "soon"))
    }

    func testRetryAfterAsHTTPDateOnTheWire() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let header = formatter.string(from: Date().addingTimeInterval(2))
        let server = try ScriptedLLMServer(script: [.rateLimited(retryAfter: header), .completion("late")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await client.complete([.user("x")])
        XCTAssertEqual(reply.content, "late")
        // The date has one-second resolution, so at least one second must have been waited.
        XCTAssertGreaterThanOrEqual(clock.now - start, .milliseconds(900))
    }

    func testRetryAfterBeyondLimitFailsAtOnce() async throws {
        let server = try ScriptedLLMServer(script: [.rateLimited(retryAfter: "3600")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected a rate-limit error")
        } catch {
            guard case .retryAfterTooLong(_, let seconds, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, 3600)
        }
    }

    func testServerErrorsExhaustRetriesAndNameTheEndpoint() async throws {
        let server = try ScriptedLLMServer(script: Array(repeating: .error(status: 500, message: "model overloaded"),
                                                         count: 3))
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected an HTTP error")
        } catch {
            XCTAssertEqual(error, .httpStatus(endpoint: server.baseURL + "/chat/completions", status: 500,
                                              message: "model overloaded", attempts: 3))
            XCTAssertTrue(error.description.contains(server.baseURL + "/chat/completions"))
            XCTAssertTrue(error.description.contains("model overloaded"))
        }
        XCTAssertEqual(server.requests.count, 3, "one attempt plus maxRetries=2")
    }

    func testClientErrorIsNotRetriedAndCarriesTheAPIMessage() async throws {
        let server = try ScriptedLLMServer(script: [.error(status: 401, message: "Incorrect API key provided")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected an HTTP error")
        } catch {
            guard case .httpStatus(_, 401, let message, 1) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "Incorrect API key provided")
        }
        XCTAssertEqual(server.requests.count, 1)
    }

    func testConnectionRefusedNamesTheEndpoint() async throws {
        let port = try ScriptedLLMServer.closedPort()
        let config = LLMConfiguration(baseURL: "http://127.0.0.1:\(port)/v1", model: "m", connectTimeout: 2,
                                      totalTimeout: 5, maxRetries: 2)
        let client = try LLMClient(configuration: config)
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected a connection error")
        } catch {
            guard case .connectionFailed(let endpoint, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, "http://127.0.0.1:\(port)/v1/chat/completions")
            XCTAssertFalse(message.isEmpty)
            XCTAssertTrue(error.description.contains("127.0.0.1:\(port)"))
        }
    }

    func testSlowServerHitsTheTotalTimeout() async throws {
        let server = try ScriptedLLMServer(script: [.slow(seconds: 3, then: .completion("too late"))])
        defer { server.stop() }
        var config = configuration(server)
        config.totalTimeout = 0.7
        let client = try LLMClient(configuration: config)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error, .timedOut(endpoint: server.baseURL + "/chat/completions", seconds: 0.7))
        }
        XCTAssertLessThan(clock.now - start, .seconds(2))
        XCTAssertEqual(server.requests.count, 1, "timeouts are not retried")
    }

    func testCancellationAbortsAnInFlightRequest() async throws {
        let server = try ScriptedLLMServer(script: [.slow(seconds: 5, then: .completion("never seen"))])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        let task = Task { () async throws -> ChatCompletion in
            try await client.complete([.user("x")])
        }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result else { return XCTFail("cancelled call succeeded") }
        XCTAssertEqual(error as? LLMError, .cancelled(endpoint: server.baseURL + "/chat/completions"))
        // libcurl polls the progress callback at least once a second.
        XCTAssertLessThan(clock.now - cancelledAt, .milliseconds(1600))
    }

    func testDroppedConnectionIsAConnectionError() async throws {
        let server = try ScriptedLLMServer(script: [.hangUp])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected an error")
        } catch {
            guard case .connectionFailed = error else { return XCTFail("\(error)") }
        }
    }

    func testGarbageBodyIsAnInvalidResponse() async throws {
        let server = try ScriptedLLMServer(script: [.raw(status: 200, headers: [:], body: "<html>proxy</html>")])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.complete([.user("x")])
            XCTFail("expected an error")
        } catch {
            guard case .invalidResponse = error else { return XCTFail("\(error)") }
        }
    }

    func testEmbeddingsReturnVectorsInOrder() async throws {
        let server = try ScriptedLLMServer(script: [.embeddings([[1, 0, 0], [0, 1, 0]])])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        let result = try await client.embed(["first", "second"])
        XCTAssertEqual(result.vectors, [[1, 0, 0], [0, 1, 0]])
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.path, "/v1/embeddings")
        let json = try XCTUnwrap(request.jsonObject())
        XCTAssertEqual(json["model"] as? String, "embed-model")
        XCTAssertEqual(json["input"] as? [String], ["first", "second"])
    }

    func testEmbeddingsCountMismatchIsRejected() async throws {
        let server = try ScriptedLLMServer(script: [.embeddings([[1, 0]])])
        defer { server.stop() }
        let client = try LLMClient(configuration: configuration(server))
        do {
            _ = try await client.embed(["a", "b"])
            XCTFail("expected an error")
        } catch {
            guard case .invalidResponse = error else { return XCTFail("\(error)") }
        }
    }
}
