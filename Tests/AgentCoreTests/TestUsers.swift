import Foundation
import Registry
import XCTest

/// Real unprivileged users for security tests: a group and users created with groupadd/useradd
/// for one test, commands run as them with setpriv (real uid, gid and supplementary groups, as a
/// login would give), and everything removed again in teardown.
final class TestUsers: @unchecked Sendable {
    /// The group the users belong to (the policy's attach group in the tests).
    let group: String
    private(set) var users: [String] = []

    /// Creates the group; skips when not root or the tools are missing.
    init(_ testCase: XCTestCase) throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to create test users") }
        for tool in ["/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/groupadd", "/usr/sbin/groupdel", "/usr/bin/setpriv"]
            where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("needs \(tool)")
        }
        group = "kt" + Registry.randomID()
        try Self.run("/usr/sbin/groupadd", [group])
        testCase.addTeardownBlock { [self] in self.remove() }
    }

    /// Adds a user whose supplementary groups include the test group (and `alsoIn`).
    func add(_ label: String, alsoIn groups: [String] = []) throws -> TestUser {
        let name = "\(group)\(label)"
        try Self.run("/usr/sbin/useradd", ["--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                           "--user-group", "--groups", ([group] + groups).joined(separator: ","), name])
        users.append(name)
        guard let entry = getpwnam(name) else { throw XCTSkip("useradd did not create \(name)") }
        return TestUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Creates an extra group (removed in teardown).
    func addGroup(_ label: String) throws -> String {
        let name = "\(group)\(label)"
        try Self.run("/usr/sbin/groupadd", [name])
        extraGroups.append(name)
        return name
    }
    private var extraGroups: [String] = []

    func remove() {
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
            throw XCTSkip("\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return process.terminationStatus
    }
}

/// One test user, and a way to run commands as it.
struct TestUser: Sendable {
    let name: String
    let uid: UInt32
    let gid: UInt32

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A process that will run `executable` as this user (not started).
    func process(_ executable: String, _ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--reset-env", "--", executable] + arguments
        return process
    }

    /// Runs to completion and returns the exit status and output.
    func run(_ executable: String, _ arguments: [String]) throws -> Output {
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
    func kenc(_ arguments: [String]) throws -> Output {
        try run(TestBinaries.path("kenc"), arguments)
    }
}

enum TestBinaries {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    static func require(_ name: String) throws -> String {
        let path = path(name)
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("\(name) is not built next to the tests (\(path))") }
        return path
    }
}
