import Foundation

/// An async HTTP client over libcurl. Each request runs `curl_easy_perform` on its own thread, so
/// a slow endpoint never blocks Swift's cooperative thread pool (which has as many threads as
/// cores: two slow LLM calls would otherwise stall every other task in kend).
///
/// Cancelling the calling task aborts the transfer: the cancellation handler raises a flag that
/// libcurl's progress callback checks (libcurl calls it at least once a second, and on activity).
public struct HTTPClient: Sendable {
    public init() {}

    /// Performs the request and returns the final response, whatever its status; statuses are
    /// the caller's to judge. Throws only when no response was obtained.
    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let state = TransferState(limit: request.maxResponseBytes)
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let worker = Thread {
                    continuation.resume(returning: CurlTransfer.perform(request, state: state))
                }
                worker.name = "ken-http"
                worker.start()
            }
        } onCancel: {
            state.cancelled.store(true, ordering: .relaxed)
        }
        return try result.get()
    }
}
