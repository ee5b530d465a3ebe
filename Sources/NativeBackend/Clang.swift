import Foundation
import Spawn

/// Runs clang on generated C: no shell, a time limit, and clang's own diagnostics when it fails.
///
/// The C goes to clang as a file in a private directory (`mkdtemp`, mode 0700, removed at once)
/// rather than on stdin: a clang that exits before reading its input (a crash, a fatal error, a
/// wrong path) then cannot make the caller write into a closed pipe, so there is no SIGPIPE to
/// ignore or catch, whatever the caller's signal dispositions (the agent ignores SIGPIPE;
/// tests and ken-bench do not). The object and clang's messages are files in that directory.
struct Clang: Sendable {
    var path: String
    var timeout: TimeInterval = 30

    /// `-o -` is replaced by the object's path in the private directory.
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
        let object = directory + "/program.o", log = directory + "/clang.log"
        defer {
            unlink(object)
            unlink(log)
        }
        // posix_spawn with files for stdio (`Spawn`): no pipes, no reader threads, and no
        // Foundation `Process` (whose CFSocket needs a socket pair the agent's sandbox refuses).
        let pid: pid_t
        do {
            pid = try Spawn.start(executable: path, arguments: Self.options.map { $0 == "-" ? object : $0 } + [file],
                                  environment: ["PATH=/usr/bin:/bin"], stdin: .devNull, stdout: .devNull, stderr: .truncate(log))
        } catch { throw .clang("cannot run \(path): \(error)") }
        let outcome = Spawn.wait(pid, seconds: timeout)
        let bytes = FileManager.default.contents(atPath: object) ?? Data()
        let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        switch outcome {
        case .timedOut: throw .clang("clang did not finish in \(Int(timeout)) s")
        case let .signaled(signal): throw .clang(text.isEmpty ? "clang was killed by signal \(signal)" : text)
        case let .exited(status):
            guard status == 0, !bytes.isEmpty else {
                throw .clang(text.isEmpty ? "clang exited with status \(status)" : text)
            }
        }
        return [UInt8](bytes)
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
