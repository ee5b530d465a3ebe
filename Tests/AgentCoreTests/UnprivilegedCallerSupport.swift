import Foundation
import Registry
import TestSupport
import XCTest

/// The real ken-agent executable (built next to the tests) on its own socket, state directory,
/// pin root and policy file, whose socket the test user's group may connect to.
final class AgentProcess: @unchecked Sendable {
    let directory: String
    let socket: String
    let stateDirectory: String
    let pinRoot: String
    let process: Process

    static var binary: String { TestBinaries.path("ken-agent") }
    static var kenc: String { TestBinaries.path("kenc") }

    /// Starts the agent with `policy` (agent.toml text) and hands its socket to `group`.
    init(policy: String, group: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary), FileManager.default.isExecutableFile(atPath: Self.kenc) else {
            throw XCTSkip("ken-agent and kenc are not built next to the tests")
        }
        let tag = Registry.randomID()
        directory = "/tmp/ken-sec-\(tag)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        socket = directory + "/agent.sock"
        stateDirectory = directory + "/state"
        pinRoot = "/sys/fs/bpf/ken-sec-\(tag)"
        try policy.write(toFile: directory + "/agent.toml", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--socket", socket, "--state-dir", stateDirectory, "--config", directory + "/agent.toml",
                             "--pin-root", pinRoot]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let up = await eventually(timeout: 120) { FileManager.default.fileExists(atPath: self.socket) }
        guard up else {
            stop()
            throw XCTSkip("ken-agent did not start (policy or environment)")
        }
        guard let gr = getgrnam(group), chown(socket, 0, gr.pointee.gr_gid) == 0 else {
            stop()
            throw XCTSkip("cannot hand the socket to group \(group)")
        }
    }

    /// A file the test user can read, in the agent's temporary directory.
    func file(_ name: String, _ contents: some DataProtocol) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(contents), attributes: [.posixPermissions: 0o644]) else {
            throw XCTSkip("cannot write \(path)")
        }
        return path
    }

    /// Processes whose command line names a file under the agent's verify-only directory.
    func verifyChildren() -> [Int32] {
        let prefix = stateDirectory + "/verify/"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return argv.contains { $0.hasPrefix(prefix) } ? pid : nil
        }
    }

    /// SIGTERM (or `signal`), wait, and remove the temporary files and pins.
    func stop(signal: Int32 = SIGTERM) {
        if process.isRunning {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
        }
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: pinRoot)) ?? [] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: pinRoot + "/" + dir)) ?? [] {
                unlink(pinRoot + "/" + dir + "/" + file)
            }
            rmdir(pinRoot + "/" + dir)
        }
        rmdir(pinRoot)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension TestUser {
    /// `kenc ARGS` as this user against `agent`.
    func kenc(_ agent: AgentProcess, _ arguments: [String]) throws -> TestUser.Output {
        try kenc(arguments + ["--agent-socket", agent.socket])
    }
}

extension TestUser.Output {
    var all: String { stdout + stderr }
}
