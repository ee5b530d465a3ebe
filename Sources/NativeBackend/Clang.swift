import Foundation

/// Runs clang on generated C: no shell, a time limit, and clang's own diagnostics when it fails.
///
/// The C goes to clang as a file in a private directory (`mkdtemp`, mode 0700, removed at once)
/// rather than on stdin: a clang that exits before reading its input (a crash, a fatal error, a
/// wrong path) then cannot make the caller write into a closed pipe, so there is no SIGPIPE to
/// ignore or catch, whatever the caller's signal dispositions (the agent ignores SIGPIPE;
/// tests and ken-bench do not). The object still comes back on stdout.
struct Clang: Sendable {
    var path: String
    var timeout: TimeInterval = 30

    static let options = ["-target", "bpf", "-O2", "-g", "-c", "-x", "c", "-o", "-",
                          "-Wno-unused-value", "-Wno-unused-variable", "-fno-stack-protector"]

    func compile(_ source: String) throws(NativeCompileError) -> [UInt8] {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw .clang("\(path) is not installed (apt-get install clang)")
        }
        let directory = try Self.privateDirectory()
        let file = directory + "/program.bpf.c"
        defer {
            unlink(file)
            rmdir(directory)
        }
        do { try Data(source.utf8).write(to: URL(fileURLWithPath: file)) } catch {
            throw .clang("cannot write the generated C to \(file): \(error)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Self.options + [file]
        let output = Pipe(), errors = Pipe()
        process.standardInput = FileHandle.nullDevice
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

    /// A fresh directory only this user can read (`mkdtemp` creates it 0700).
    static func privateDirectory() throws(NativeCompileError) -> String {
        let temporary = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array((temporary + "ken-clang-XXXXXX").utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let made else { throw .clang("cannot create a private directory for clang: \(String(cString: strerror(errno)))") }
        return made
    }
}

/// clang's stdout and stderr contents, written from the reader threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var object = Data()
    private var log = Data()

    func setObject(_ d: Data) { lock.lock(); object = d; lock.unlock() }
    func setLog(_ d: Data) { lock.lock(); log = d; lock.unlock() }
    var values: (Data, Data) { lock.lock(); defer { lock.unlock() }; return (object, log) }
}
