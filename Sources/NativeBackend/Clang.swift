import Foundation

/// Runs clang on generated C (source on stdin, object on stdout): no shell, no temporary
/// files, a time limit, and clang's own diagnostics when it fails.
struct Clang: Sendable {
    var path: String
    var timeout: TimeInterval = 30

    static let arguments = ["-target", "bpf", "-O2", "-g", "-c", "-x", "c", "-", "-o", "-",
                            "-Wno-unused-value", "-Wno-unused-variable", "-fno-stack-protector"]

    func compile(_ source: String) throws(NativeCompileError) -> [UInt8] {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw .clang("\(path) is not installed (apt-get install clang)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Self.arguments
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw .clang("cannot run \(path): \(error)") }

        let group = DispatchGroup()
        let collected = Collected()
        group.enter()
        DispatchQueue.global().async {
            collected.setObject(output.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            collected.setLog(errors.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let writer = Thread { Self.writeWithoutSIGPIPE(Array(source.utf8), to: input.fileHandleForWriting) }
        writer.start()
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            process.waitUntilExit()
            throw .clang("clang did not finish in \(Int(timeout)) s")
        }
        process.waitUntilExit()
        let (object, log) = collected.values
        guard process.terminationReason == .exit, process.terminationStatus == 0, !object.isEmpty else {
            let text = String(decoding: log, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .clang(text.isEmpty ? "clang exited with status \(process.terminationStatus)" : text)
        }
        return [UInt8](object)
    }
}

extension Clang {
    /// Writes `bytes` to clang's stdin and closes it. clang may exit before reading it all (a
    /// fatal error, a wrong path): the write then fails with EPIPE, and SIGPIPE, blocked in
    /// this thread only and consumed here, never reaches the process.
    static func writeWithoutSIGPIPE(_ bytes: [UInt8], to handle: FileHandle) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        let fd = handle.fileDescriptor
        var written = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n > 0 { written += n } else if n < 0, errno == EINTR { continue } else { break }
            }
        }
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var none = timespec()
            _ = sigtimedwait(&pipeSignal, nil, &none)
        }
        try? handle.close()
    }
}

/// The two pipes' contents, written from the reader threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var object = Data()
    private var log = Data()

    func setObject(_ d: Data) { lock.lock(); object = d; lock.unlock() }
    func setLog(_ d: Data) { lock.lock(); log = d; lock.unlock() }
    var values: (Data, Data) { lock.lock(); defer { lock.unlock() }; return (object, log) }
}
