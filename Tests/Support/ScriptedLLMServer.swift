import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 (random port) that behaves like an OpenAI-compatible
/// endpoint whose answers are written in advance. Tests use it to see exactly what Ken sends
/// (every request is recorded) and to provoke the failures a real endpoint produces: rate limits
/// with `Retry-After`, server errors, slowness and dropped connections.
///
/// Each incoming request consumes the next `Step` of the script, in arrival order. When the
/// script runs out the server answers 500 "script exhausted", so a test that sends more requests
/// than it planned fails loudly instead of hanging.
public final class ScriptedLLMServer: Sendable {
    public indirect enum Step: Sendable {
        /// 200 with a chat completion whose message content is `content`.
        case completion(String, promptTokens: Int = 11, completionTokens: Int = 22)
        /// 200 with an embeddings response, one vector per entry, in order.
        case embeddings([[Double]])
        /// 429 with the given `Retry-After` header value (seconds or an HTTP date).
        case rateLimited(retryAfter: String)
        /// This status with an OpenAI-style error body carrying `message`.
        case error(status: Int, message: String)
        /// Wait `seconds` before performing `then` (to hit client timeouts or to be cancelled).
        case slow(seconds: Double, then: Step)
        /// Close the connection without answering.
        case hangUp
        /// Any status, headers and raw body.
        case raw(status: Int, headers: [String: String], body: String)
    }

    /// One request as the server received it.
    public struct RecordedRequest: Sendable {
        public let method: String
        public let path: String
        /// Header names are lower-cased.
        public let headers: [String: String]
        public let body: Data

        /// The body parsed as a JSON object, or nil when it is not one.
        public func jsonObject() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        }
    }

    private struct State {
        var script: [Step]
        var next = 0
        var requests: [RecordedRequest] = []
        var listening = true
    }

    public let port: Int
    private let listenFD: Int32
    private let state: Mutex<State>

    /// `http://127.0.0.1:<port>/v1`, the form Ken's configuration expects.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public init(script: [Step]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw ServerError.socket("bind/listen: \(why)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listenFD = fd
        state = Mutex(State(script: script))
        let acceptor = Thread { [self] in acceptLoop() }
        acceptor.name = "scripted-llm-accept"
        acceptor.start()
    }

    deinit { stop() }

    /// Every request received so far, in arrival order.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// Stops accepting; afterwards connections to `port` are refused.
    public func stop() {
        let wasListening = state.withLock { s -> Bool in
            defer { s.listening = false }
            return s.listening
        }
        if wasListening {
            shutdown(listenFD, Int32(SHUT_RDWR))
            close(listenFD)
        }
    }

    /// A port on 127.0.0.1 on which nothing listens (bound once, then released), for
    /// "endpoint is down" tests.
    public static func closedPort() throws -> Int {
        let server = try ScriptedLLMServer(script: [])
        server.stop()
        return server.port
    }

    public enum ServerError: Error { case socket(String) }

    private func acceptLoop() {
        while true {
            let connection = accept(listenFD, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let handler = Thread { [self] in
                handle(connection)
                close(connection)
            }
            handler.start()
        }
    }

    private func handle(_ fd: Int32) {
        guard let request = readRequest(fd) else { return }
        let step = state.withLock { s -> Step? in
            s.requests.append(request)
            guard s.next < s.script.count else { return nil }
            defer { s.next += 1 }
            return s.script[s.next]
        }
        perform(step ?? .error(status: 500, message: "script exhausted"), on: fd)
    }

    private func perform(_ step: Step, on fd: Int32) {
        switch step {
        case .completion(let content, let promptTokens, let completionTokens):
            let body: [String: Any] = [
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
                "model": "scripted",
                "choices": [["index": 0, "finish_reason": "stop",
                             "message": ["role": "assistant", "content": content]]],
                "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                          "total_tokens": promptTokens + completionTokens],
            ]
            respond(fd, status: 200, headers: [:], body: json(body))
        case .embeddings(let vectors):
            let data = vectors.enumerated().map { index, vector -> [String: Any] in
                ["object": "embedding", "index": index, "embedding": vector]
            }
            let body: [String: Any] = ["object": "list", "data": data, "model": "scripted",
                                       "usage": ["prompt_tokens": 3, "total_tokens": 3]]
            respond(fd, status: 200, headers: [:], body: json(body))
        case .rateLimited(let retryAfter):
            respond(fd, status: 429, headers: ["Retry-After": retryAfter],
                    body: json(["error": ["message": "Rate limit reached", "type": "rate_limit"]]))
        case .error(let status, let message):
            respond(fd, status: status, headers: [:],
                    body: json(["error": ["message": message, "type": "server_error"]]))
        case .slow(let seconds, let then):
            Thread.sleep(forTimeInterval: seconds)
            perform(then, on: fd)
        case .hangUp:
            return
        case .raw(let status, let headers, let body):
            respond(fd, status: status, headers: headers, body: Data(body.utf8))
        }
    }

    private func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    }

    private func respond(_ fd: Int32, status: Int, headers: [String: String], body: Data) {
        var head = "HTTP/1.1 \(status) Scripted\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        writeAll(fd, Data(head.utf8) + body)
    }

    private func writeAll(_ fd: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var sent = 0
            while sent < raw.count {
                // MSG_NOSIGNAL: a client that gave up must not kill the test process with SIGPIPE.
                let n = send(fd, base + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }

    private func readRequest(_ fd: Int32) -> RecordedRequest? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
            headerEnd = buffer.range(of: separator)
            if buffer.count > 1 << 20 { return nil }
        }
        guard let end = headerEnd else { return nil }
        let headText = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Data(buffer[end.upperBound...])
        while body.count < length {
            let n = recv(fd, &chunk, min(chunk.count, length - body.count), 0)
            if n <= 0 { return nil }
            body.append(contentsOf: chunk[0..<n])
        }
        return RecordedRequest(method: String(requestLine[0]), path: String(requestLine[1]),
                               headers: headers, body: body)
    }
}
