import CCurl
import Foundation

/// Performs one request with a libcurl easy handle, synchronously, on the calling thread.
/// Only `HTTPClient` calls this, always from a dedicated thread, so the blocking
/// `curl_easy_perform` never occupies a thread of Swift's cooperative pool.
enum CurlTransfer {
    static func perform(_ request: HTTPRequest, state: TransferState) -> Result<HTTPResponse, HTTPError> {
        let url = request.url
        guard CurlGlobal.initResult == 0 else {
            return .failure(.transferFailed(url: url, code: CurlGlobal.initResult,
                                            message: "curl_global_init failed"))
        }
        if state.cancelled.load(ordering: .relaxed) { return .failure(.cancelled(url: url)) }
        let method = request.method.uppercased()
        guard !method.isEmpty, method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            return .failure(.invalidRequest(url: url, message: "bad HTTP method '\(request.method)'"))
        }
        guard request.connectTimeout > 0, request.totalTimeout > 0 else {
            return .failure(.invalidRequest(url: url, message: "timeouts must be positive"))
        }
        guard let handle = curl_easy_init() else {
            return .failure(.transferFailed(url: url, code: -1, message: "curl_easy_init failed"))
        }
        defer { curl_easy_cleanup(handle) }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        // An empty "Expect:" stops libcurl from waiting for `100 Continue` on larger POSTs.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            guard !line.contains("\r"), !line.contains("\n") else {
                return .failure(.invalidRequest(url: url, message: "header contains a line break"))
            }
            guard let grown = curl_slist_append(headerList, line) else {
                return .failure(.transferFailed(url: url, code: -1, message: "out of memory"))
            }
            headerList = grown
        }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
        errorBuffer.initialize(repeating: 0, count: 256)
        defer { errorBuffer.deallocate() }

        let context = Unmanaged.passRetained(state)
        defer { context.release() }
        let opaque = context.toOpaque()

        let writeCallback: ken_curl_data_callback = { data, size, count, userdata in
            guard let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            guard length > 0, let data else { return length }
            return state.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        }
        let headerCallback: ken_curl_data_callback = { data, size, count, userdata in
            guard let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            guard length > 0, let data else { return length }
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            state.appendHeaderLine(String(decoding: bytes, as: UTF8.self))
            return length
        }
        let progressCallback: ken_curl_xferinfo_callback = { userdata, _, _, _, _ in
            guard let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            return state.cancelled.load(ordering: .relaxed) ? 1 : 0
        }

        var setupError: CURLcode = CURLE_OK
        func check(_ code: CURLcode) {
            if code != CURLE_OK && setupError == CURLE_OK { setupError = code }
        }
        check(ken_curl_setopt_string(handle, CURLOPT_URL, url))
        check(ken_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(ken_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        check(ken_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout)))
        check(ken_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(request.totalTimeout)))
        check(ken_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        check(ken_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback))
        check(ken_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, opaque))
        check(ken_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback))
        check(ken_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, opaque))
        check(ken_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
        check(ken_curl_setopt_xferinfo_callback(handle, progressCallback))
        check(ken_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, opaque))
        check(ken_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        switch method {
        case "GET" where request.body.isEmpty:
            check(ken_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case "HEAD":
            check(ken_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        default:
            // COPYPOSTFIELDS copies the bytes, so nothing must outlive this closure.
            check(ken_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            let code = request.body.withUnsafeBytes { raw -> CURLcode in
                var empty: CChar = 0
                let pointer = raw.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
                return withUnsafeMutablePointer(to: &empty) { emptyPointer in
                    ken_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS,
                                            pointer ?? UnsafeMutableRawPointer(emptyPointer))
                }
            }
            check(code)
            if method != "POST" {
                check(ken_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
            }
        }
        if setupError != CURLE_OK {
            return .failure(.invalidRequest(url: url, message: CurlGlobal.describe(setupError)))
        }

        let code = curl_easy_perform(handle)
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? CurlGlobal.describe(code) : detail
        switch code {
        case CURLE_OK:
            var status = 0
            _ = ken_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: state.parsedHeaders, body: state.body))
        case CURLE_ABORTED_BY_CALLBACK where state.cancelled.load(ordering: .relaxed):
            return .failure(.cancelled(url: url))
        case CURLE_WRITE_ERROR where state.overflowed:
            return .failure(.responseTooLarge(url: url, limit: request.maxResponseBytes))
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
             CURLE_SSL_CONNECT_ERROR, CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            return .failure(.connectionFailed(url: url, message: message))
        case CURLE_OPERATION_TIMEDOUT:
            let connecting = message.lowercased().hasPrefix("connection timed out")
                || message.lowercased().contains("resolving timed out")
            return .failure(.timedOut(url: url,
                                      seconds: connecting ? request.connectTimeout : request.totalTimeout,
                                      message: message))
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .failure(.invalidRequest(url: url, message: message))
        default:
            return .failure(.transferFailed(url: url, code: Int(code.rawValue), message: message))
        }
    }

    private static func milliseconds(_ seconds: Double) -> Int {
        let value = (seconds * 1000).rounded(.up)
        guard value.isFinite, value < Double(Int32.max) else { return Int(Int32.max) }
        return max(1, Int(value))
    }
}
