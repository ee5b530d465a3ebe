import Foundation
import Synchronization

/// The mutable state of one transfer, shared with libcurl's C callbacks through an opaque
/// pointer. Everything except `cancelled` is touched only on the transfer's own thread (libcurl
/// calls the callbacks synchronously from `curl_easy_perform`), which is why the unchecked
/// Sendable conformance is sound: the only cross-thread field is an atomic.
final class TransferState: @unchecked Sendable {
    var body = Data()
    /// Header lines of the latest response only; reset when a new status line arrives
    /// (for example after an interim `100 Continue`).
    var headerLines: [String] = []
    var overflowed = false
    let limit: Int
    /// Set by the task cancellation handler; the progress callback polls it and aborts.
    let cancelled = Atomic<Bool>(false)

    init(limit: Int) {
        self.limit = limit
    }

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if body.count + bytes.count > limit {
            overflowed = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    func appendHeaderLine(_ line: String) {
        if line.hasPrefix("HTTP/") {
            headerLines.removeAll()
            return
        }
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { headerLines.append(trimmed) }
    }

    var parsedHeaders: [HTTPHeader] {
        headerLines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return HTTPHeader(name, value)
        }
    }
}
