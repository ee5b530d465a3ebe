import Foundation
import HTTP
import TestSupport
import XCTest

/// The libcurl wrapper on its own, against a real socket.
final class HTTPClientTests: XCTestCase {
    func testStatusHeadersAndBodyArePassedThrough() async throws {
        let server = try ScriptedLLMServer(script: [.raw(status: 418, headers: ["X-Ken": "yes"], body: "teapot")])
        defer { server.stop() }
        let response = try await HTTPClient().send(HTTPRequest(
            url: "http://127.0.0.1:\(server.port)/brew", headers: [HTTPHeader("X-Client", "ken")]))
        XCTAssertEqual(response.status, 418)
        XCTAssertEqual(response.header("x-ken"), "yes")
        XCTAssertEqual(response.bodyText, "teapot")
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.path, "/brew")
        XCTAssertEqual(request.headers["x-client"], "ken")
        XCTAssertTrue(request.body.isEmpty)
    }

    func testCustomMethodSendsItsBody() async throws {
        let server = try ScriptedLLMServer(script: [.raw(status: 204, headers: [:], body: "")])
        defer { server.stop() }
        let body = Data(String(repeating: "k", count: 5000).utf8)
        let response = try await HTTPClient().send(HTTPRequest(
            method: "PUT", url: "http://127.0.0.1:\(server.port)/x", body: body))
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(server.requests.first?.method, "PUT")
        XCTAssertEqual(server.requests.first?.body, body)
        XCTAssertNil(server.requests.first?.headers["expect"], "no 100-continue round trip")
    }

    func testOversizedResponseIsRefused() async throws {
        let server = try ScriptedLLMServer(script: [.raw(status: 200, headers: [:],
                                                         body: String(repeating: "x", count: 100_000))])
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/big"
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: url, maxResponseBytes: 1000))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error, .responseTooLarge(url: url, limit: 1000))
        }
    }

    func testOnlyHTTPSchemesAndCleanHeadersAreAccepted() async {
        for url in ["file:///etc/passwd", "ftp://127.0.0.1/x", "not a url"] {
            do {
                _ = try await HTTPClient().send(HTTPRequest(url: url))
                XCTFail("\(url) was fetched")
            } catch {
                guard case .invalidRequest(let failedURL, let message) = error else { return XCTFail("\(url): \(error)") }
                XCTAssertEqual(failedURL, url)
                XCTAssertFalse(message.isEmpty)
            }
        }
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:1/",
                                                        headers: [HTTPHeader("X", "a\r\nInjected: yes")]))
            XCTFail("header with a line break was sent")
        } catch {
            guard case .invalidRequest = error else { return XCTFail("\(error)") }
        }
    }

    /// Eight slow requests at once finish in about the time of one: each runs on its own thread,
    /// not on the cooperative pool (which has one thread per core).
    func testSlowRequestsDoNotQueueBehindEachOther() async throws {
        let count = 8
        let server = try ScriptedLLMServer(script: Array(repeating: .slow(seconds: 0.6, then: .raw(status: 200, headers: [:],
                                                                                                  body: "ok")),
                                                         count: count))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/slow"
        let clock = ContinuousClock()
        let start = clock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask { try await HTTPClient().send(HTTPRequest(url: url)).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = clock.now - start
        XCTAssertEqual(statuses, Array(repeating: 200, count: count))
        XCTAssertLessThan(elapsed, .milliseconds(2500), "requests were serialised: \(elapsed)")
    }
}
