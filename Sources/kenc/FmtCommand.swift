import ArgumentParser
import BpftraceSemantics
import Foundation

/// `kenc fmt FILE [--write]`: print a bpftrace program in canonical layout.
struct FmtCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Re-print a bpftrace program in canonical layout.")

    @Argument(help: "bpftrace program file.")
    var file: String

    @Flag(help: "Rewrite the file in place instead of printing to standard output.")
    var write = false

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        switch Checker.format(source: String(decoding: data, as: UTF8.self), file: file) {
        case let .success(text):
            if write {
                do {
                    try text.write(toFile: file, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write \(file): \(error)")
                }
            } else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            }
        case let .failure(failure):
            FileHandle.standardError.write(Data((failure.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
