import CCurl

/// libcurl requires `curl_global_init` exactly once, before any other call and before threads
/// use it. A `static let` is initialised lazily and atomically by the Swift runtime, which gives
/// exactly that guarantee without a lock of our own.
enum CurlGlobal {
    static let initResult: Int = Int(ken_curl_global_init_all().rawValue)

    /// libcurl's own text for a result code (a static string, never freed).
    static func describe(_ code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "curl error \(code.rawValue)" }
        return String(cString: text)
    }
}
