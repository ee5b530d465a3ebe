import Foundation
import Glibc

/// Why test users cannot be made here (the test skips with this reason).
public struct TestUsersUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// Real unprivileged users for security tests: a group and users created with groupadd/useradd
/// for one test, commands run as them with setpriv (real uid, gid and supplementary groups, as a
/// login would give), and everything removed again in teardown.
///
/// Call `remove()` in the test's teardown.
public final class TestUsers: @unchecked Sendable {
    /// The group the users belong to (the policy's attach group in the tests).
    public let group: String
    public private(set) var users: [String] = []

    /// Creates the group; throws `TestUsersUnavailable` when not root or the tools are missing.
    public init() throws {
        guard geteuid() == 0 else { throw TestUsersUnavailable(description: "needs root to create test users") }
        for tool in ["/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/groupadd", "/usr/sbin/groupdel", "/usr/bin/setpriv"]
            where !FileManager.default.isExecutableFile(atPath: tool) {
            throw TestUsersUnavailable(description: "needs \(tool)")
        }
        group = "kt" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try Self.run("/usr/sbin/groupadd", [group])
    }

    /// Adds a user whose supplementary groups include the test group (and `alsoIn`).
    public func add(_ label: String, alsoIn groups: [String] = []) throws -> TestUser {
        let name = "\(group)\(label)"
        try Self.run("/usr/sbin/useradd", ["--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                           "--user-group", "--groups", ([group] + groups).joined(separator: ","), name])
        users.append(name)
        guard let entry = getpwnam(name) else { throw TestUsersUnavailable(description: "useradd did not create \(name)") }
        return TestUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Creates an extra group (removed in teardown).
    public func addGroup(_ label: String) throws -> String {
        let name = "\(group)\(label)"
        try Self.run("/usr/sbin/groupadd", [name])
        extraGroups.append(name)
        return name
    }
    private var extraGroups: [String] = []

    public func remove() {
        for user in users { _ = try? Self.run("/usr/sbin/userdel", [user]) }
        for extra in extraGroups { _ = try? Self.run("/usr/sbin/groupdel", [extra]) }
        _ = try? Self.run("/usr/sbin/groupdel", [group])
        users = []
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestUsersUnavailable(description: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return process.terminationStatus
    }
}

/// One test user, and a way to run commands as it.
public struct TestUser: Sendable {
    public let name: String
    public let uid: UInt32
    public let gid: UInt32

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// A process that will run `executable` as this user (not started).
    public func process(_ executable: String, _ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--reset-env", "--", executable] + arguments
        return process
    }

    /// Runs to completion and returns the exit status and output.
    public func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let process = process(executable, arguments)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs so neither fills up.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `kenc` (built next to the tests) as this user.
    public func kenc(_ arguments: [String]) throws -> Output {
        try run(TestBinaries.path("kenc"), arguments)
    }
}

public enum TestBinaries {
    public static func path(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    public static func require(_ name: String) throws -> String {
        let path = path(name)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestUsersUnavailable(description: "\(name) is not built next to the tests (\(path))")
        }
        return path
    }
}
