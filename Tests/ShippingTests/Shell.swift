import Foundation
import XCTest

/// What a finished child process left behind.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Why a tool could not be run at all (as opposed to running and failing).
enum ShellError: Error, CustomStringConvertible {
    case launchFailed(String, String)

    var description: String {
        switch self {
        case let .launchFailed(tool, reason): "cannot run \(tool): \(reason)"
        }
    }
}

/// Runs the packaging tools the way an admin or a build would, and finds the files under test.
/// Output goes to files rather than pipes so a chatty tool can never block on a full pipe.
enum Shell {
    /// The repository root, found from this source file (Tests/ShippingTests/Shell.swift), with
    /// symlinks resolved so a harness package that links the test folder still finds the repo.
    static let repository: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The first executable named `tool` on PATH (plus the sbin directories, where Debian keeps
    /// some of them), or nil.
    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The tool's path, or an XCTSkip naming the package that provides it.
    static func require(_ tool: String, package: String) throws -> String {
        guard let path = which(tool) else {
            throw XCTSkip("\(tool) is not installed (Debian package \(package), listed in packaging/build-deps.txt)")
        }
        return path
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil) throws -> ProcessResult {
        let scratch = try temporaryDirectory("shell")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ShellError.launchFailed(executable, "\(error)")
        }
        process.waitUntilExit()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// A fresh directory under the system temporary directory; the caller removes it.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ken-shipping-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The directory holding built ken-agent, kend and kenc: $KEN_BIN_DIR, else the directory of
    /// this test bundle (SwiftPM puts products next to it), else the repository's .build/debug.
    static func builtProgramsDirectory() -> URL? {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["KEN_BIN_DIR"], !dir.isEmpty {
            candidates.append(URL(fileURLWithPath: dir))
        }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        candidates.append(repository.appendingPathComponent(".build/debug"))
        return candidates.first { directory in
            ["ken-agent", "kend", "kenc"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent($0).path)
            }
        }
    }
}
