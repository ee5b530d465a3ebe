import CBPF
import Foundation

/// Captures libbpf's print output into Swift strings.
///
/// Why: libbpf reports *why* something failed (missing section, bad relocation, the verifier log
/// between "BEGIN PROG LOAD LOG" markers) only through its global print callback. The callback is
/// process-global, so every capturing libbpf call in this module runs under one lock and collects
/// the messages printed meanwhile; outside a capture, messages are dropped (libbpf would otherwise
/// write them to the agent's stderr).
final class LibbpfLog: @unchecked Sendable {
    static let shared = LibbpfLog()

    /// Serializes captured operations, so messages belong to the call that caused them.
    private let operationLock = NSLock()
    /// Guards `buffer` and `capturing` (the callback may run on the calling thread only, but keep
    /// the state consistent for any thread).
    private let stateLock = NSLock()
    private var buffer = ""
    private var capturing = false

    private init() {
        _ = libbpf_set_print(libbpfPrintCallback)
    }

    /// Runs `body` while capturing libbpf messages; `body` receives a function that returns the
    /// messages captured so far (to put into an error it is about to throw).
    func capture<T>(_ body: (_ messages: () -> String) throws -> T) rethrows -> T {
        operationLock.lock()
        defer { operationLock.unlock() }
        stateLock.withLock { buffer = ""; capturing = true }
        defer { stateLock.withLock { buffer = ""; capturing = false } }
        return try body { [self] in stateLock.withLock { buffer } }
    }

    fileprivate func append(_ message: String) {
        stateLock.withLock {
            guard capturing else { return }
            // Bound the capture: a runaway log must not exhaust memory.
            if buffer.utf8.count < 4 << 20 { buffer += message }
        }
    }
}

/// The C callback handed to `libbpf_set_print`. It formats the message with `vsnprintf` (the
/// `va_list` arrives as `CVaListPointer`) and forwards warning and info messages.
private let libbpfPrintCallback: libbpf_print_fn_t = { level, format, arguments in
    guard let format, let arguments, level != LIBBPF_DEBUG else { return 0 }
    let capacity = 64 * 1024
    var storage = [CChar](repeating: 0, count: capacity)
    let written = storage.withUnsafeMutableBufferPointer { buffer -> Int32 in
        guard let base = buffer.baseAddress else { return 0 }
        return vsnprintf(base, capacity, format, arguments)
    }
    guard written > 0 else { return 0 }
    let length = min(Int(written), capacity - 1)
    let text = String(decoding: storage[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    LibbpfLog.shared.append(text)
    return written
}
