import Foundation
import Registry
import XCTest

/// A real unprivileged user, created for one test: member of a fresh group that the test agent's
/// policy names as its attach group (the role `ken` has on a real host; a fresh group keeps
/// parallel test runs from sharing or deleting one). Removed again by `remove()`.
final class UnprivilegedUser: @unchecked Sendable {
    let name: String
    let group: String
    let uid: UInt32
    let gid: UInt32

    init() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to create a user") }
        for tool in ["/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/groupadd", "/usr/sbin/groupdel", "/usr/bin/setpriv"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("\(tool) is not installed") }
        }
        let tag = String(Registry.randomID().prefix(8))
        name = "kenu\(tag)"
        group = "kent\(tag)"
        guard Self.run("/usr/sbin/groupadd", [group]) == 0 else { throw XCTSkip("groupadd failed") }
        guard Self.run("/usr/sbin/useradd", ["-M", "-N", "-g", "nogroup", "-G", group, "-s", "/usr/sbin/nologin", name]) == 0 else {
            _ = Self.run("/usr/sbin/groupdel", [group])
            throw XCTSkip("useradd failed")
        }
        guard let pw = getpwnam(name), let gr = getgrnam(group) else { throw XCTSkip("the new user cannot be looked up") }
        uid = pw.pointee.pw_uid
        gid = pw.pointee.pw_gid
        _ = gr
    }

    func remove() {
        _ = Self.run("/usr/sbin/userdel", [name])
        _ = Self.run("/usr/sbin/groupdel", [group])
    }

    /// What a command run as this user printed and how it ended.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs `executable arguments` as this user (setpriv: its uid, primary group and
    /// supplementary groups, no capabilities).
    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--inh-caps=-all", "--", executable] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": "/tmp"].merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// The real ken-agent executable (built next to the tests) on its own socket, state directory,
/// pin root and policy file, whose socket the test user's group may connect to.
final class AgentProcess: @unchecked Sendable {
    let directory: String
    let socket: String
    let stateDirectory: String
    let pinRoot: String
    let process: Process

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ken-agent").path
    }

    static var kenc: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kenc").path
    }

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

extension UnprivilegedUser {
    /// `kenc ARGS` as this user against `agent`.
    func kenc(_ agent: AgentProcess, _ arguments: [String]) throws -> Outcome {
        try run(AgentProcess.kenc, arguments, environment: ["KEN_AGENT_SOCKET": agent.socket])
    }
}
