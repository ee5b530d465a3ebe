import Foundation
import KenProto
import KenRPC
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A private directory for one test's sockets, removed when the test ends (XCTest keeps test
/// case instances alive, so deinit would be too late). Kept short: a Unix socket path must fit
/// in 108 bytes.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ testCase: XCTestCase) throws {
        var template = Array("/tmp/kenrpc-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }
        guard created != nil else { throw XCTSkip("mkdtemp failed: errno \(errno)") }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.path = path
        testCase.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Everything a test handler saw and answered, for exact comparisons.
final class CallRecorder<Request: Sendable, Response: Sendable>: Sendable {
    private struct State {
        var requests: [Request] = []
        var responses: [UInt64: [Response]] = [:]
        var peers: [PeerCredentials] = []
        var cancelled: Set<UInt64> = []
    }
    private let state = Locked(State())

    func request(_ request: Request, peer: PeerCredentials) {
        state.withLockedValue { $0.requests.append(request); $0.peers.append(peer) }
    }
    func response(_ response: Response, for id: UInt64) {
        state.withLockedValue { $0.responses[id, default: []].append(response) }
    }
    func cancelled(_ id: UInt64) { _ = state.withLockedValue { $0.cancelled.insert(id) } }

    var requests: [Request] { state.withLockedValue { $0.requests } }
    var peers: [PeerCredentials] { state.withLockedValue { $0.peers } }
    func responses(for id: UInt64) -> [Response] { state.withLockedValue { $0.responses[id] ?? [] } }
    func wasCancelled(_ id: UInt64) -> Bool { state.withLockedValue { $0.cancelled.contains(id) } }
}

/// Waits until `condition` holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(3), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A blocking Unix stream socket for tests that must send bytes a real client never would.
final class RawSocket {
    let fd: Int32

    init(connectTo path: String, receiveTimeout: Duration = .seconds(5)) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw RawSocketError.connect(errno)
        }
        let (seconds, attoseconds) = receiveTimeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawSocketError.send(errno) }
            offset += sent
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Makes `send` give up (EAGAIN) when the peer stops reading for `timeout`.
    func setSendTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads until `count` bytes arrived, EOF, or the receive timeout.
    func read(atMost count: Int) -> (bytes: [UInt8], eof: Bool) {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, count - result.count), 0) }
            if got == 0 { return (result, true) }
            if got < 0 { return (result, errno == ECONNRESET) }
            result += chunk[0..<got]
        }
        return (result, false)
    }

    /// Reads one frame body; nil on EOF/timeout before a whole frame.
    func readFrame() -> [UInt8]? {
        var header: [UInt8] = []
        while true {
            let (byte, _) = read(atMost: 1)
            guard let first = byte.first else { return nil }
            header.append(first)
            if first & 0x80 == 0 { break }
            if header.count > 10 { return nil }
        }
        var length = 0
        for (index, byte) in header.enumerated() { length |= Int(byte & 0x7f) << (7 * index) }
        let (body, _) = read(atMost: length)
        return body.count == length ? body : nil
    }

    /// True when the peer closed (EOF or reset) within the receive timeout.
    func isClosedByPeer() -> Bool {
        let (bytes, eof) = read(atMost: 1)
        return bytes.isEmpty && eof
    }
}

enum RawSocketError: Error { case connect(Int32), send(Int32) }

func varint(_ value: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    var remaining = value
    while remaining >= 0x80 { bytes.append(UInt8(remaining & 0x7f) | 0x80); remaining >>= 7 }
    bytes.append(UInt8(remaining))
    return bytes
}

func frame(_ message: some RPCRequestEnvelope) throws -> [UInt8] {
    let body: [UInt8] = try message.serializedBytes()
    return varint(UInt64(body.count)) + body
}

/// The repository root, found from this file's location (Tests/KenRPCTests/…).
func repositoryRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

func findExecutable(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    for directory in paths {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a program to completion, feeding `input`; returns exit status, stdout and stderr.
func runProgram(_ executable: String, _ arguments: [String], input: Data? = nil, currentDirectory: String? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, out, String(decoding: err, as: UTF8.self))
}

/// A value behind a lock, for test bookkeeping shared with handler tasks.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLockedValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
