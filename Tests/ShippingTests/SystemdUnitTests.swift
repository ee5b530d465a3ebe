import Foundation
import XCTest

/// The shipped systemd files are valid for the systemd that runs them: every directive of the
/// units is checked by `systemd-analyze verify`, and the sysusers/tmpfiles entries really create
/// Ken's users and directories.
final class SystemdUnitTests: XCTestCase {
    static let units = ["ken-agent.service", "ken-agent.socket", "kend.service", "kend.socket"]
    var systemdDirectory: URL { Shell.repository.appendingPathComponent("systemd") }

    /// The units are verified as shipped except for one thing: ExecStart's binary
    /// (/usr/sbin/ken-agent, /usr/sbin/kend) points at a stub executable in a temporary
    /// directory, because verify checks that the binary exists and the package is not installed.
    /// Documentation=man: pages are checked against Ken's own man pages through MANPATH.
    func testUnitsVerifyCleanWithSystemdAnalyze() throws {
        let analyze = try Shell.require("systemd-analyze", package: "systemd")
        let work = try Shell.temporaryDirectory("units")
        defer { try? FileManager.default.removeItem(at: work) }
        let bin = work.appendingPathComponent("bin")
        let manRoot = work.appendingPathComponent("man")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for page in try FileManager.default.contentsOfDirectory(atPath: Shell.repository.appendingPathComponent("man").path) {
            guard let section = page.split(separator: ".").last, Int(section) != nil else { continue }
            let directory = manRoot.appendingPathComponent("man\(section)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Shell.repository.appendingPathComponent("man/\(page)"),
                                             to: directory.appendingPathComponent(page))
        }
        for program in ["ken-agent", "kend"] {
            let stub = bin.appendingPathComponent(program)
            try "#!/bin/sh\nexit 0\n".write(to: stub, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        }

        var rewritten = 0
        var paths: [String] = []
        for unit in Self.units {
            let original = try String(contentsOf: systemdDirectory.appendingPathComponent(unit), encoding: .utf8)
            var lines: [String] = []
            for line in original.components(separatedBy: "\n") {
                if line.hasPrefix("ExecStart=/usr/sbin/") {
                    lines.append("ExecStart=" + bin.path + "/" + line.dropFirst("ExecStart=/usr/sbin/".count))
                    rewritten += 1
                } else {
                    lines.append(line)
                }
            }
            let copy = work.appendingPathComponent(unit)
            try lines.joined(separator: "\n").write(to: copy, atomically: true, encoding: .utf8)
            paths.append(copy.path)
        }
        XCTAssertEqual(rewritten, 2, "exactly the two services' ExecStart lines are redirected to stubs")

        let result = try Shell.run(analyze, ["verify"] + paths, environment: ["MANPATH": manRoot.path])
        XCTAssertEqual(result.status, 0, "systemd-analyze verify failed:\n\(result.stdout)\(result.stderr)")
        XCTAssertEqual((result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "systemd-analyze verify printed warnings")
    }

    /// A unit that is broken must make the same check fail, or the test above proves nothing.
    func testSystemdAnalyzeRejectsABrokenUnit() throws {
        let analyze = try Shell.require("systemd-analyze", package: "systemd")
        let work = try Shell.temporaryDirectory("broken-unit")
        defer { try? FileManager.default.removeItem(at: work) }
        let unit = work.appendingPathComponent("ken-broken.service")
        try "[Service]\nExecStart=/nonexistent/ken-agent\nCapabilityBoundingSet=CAP_NOT_A_CAPABILITY\n"
            .write(to: unit, atomically: true, encoding: .utf8)
        let result = try Shell.run(analyze, ["verify", unit.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("/nonexistent/ken-agent"), result.stderr)
    }

    /// systemd-sysusers and systemd-tmpfiles, pointed at an empty root, create the users,
    /// groups and directories the units and maintainer scripts rely on.
    func testSysusersAndTmpfilesCreateKensUsersAndDirectories() throws {
        let sysusers = try Shell.require("systemd-sysusers", package: "systemd")
        let tmpfiles = try Shell.require("systemd-tmpfiles", package: "systemd")
        guard geteuid() == 0 else { throw XCTSkip("systemd-tmpfiles must run as root to chown the directories it creates") }
        let root = try Shell.temporaryDirectory("root")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)

        let users = try Shell.run(sysusers, ["--root=" + root.path, systemdDirectory.appendingPathComponent("ken.sysusers.conf").path])
        XCTAssertEqual(users.status, 0, users.stderr)
        let passwd = try String(contentsOf: root.appendingPathComponent("etc/passwd"), encoding: .utf8)
        let group = try String(contentsOf: root.appendingPathComponent("etc/group"), encoding: .utf8)
        let kenLine = passwd.split(separator: "\n").first { $0.hasPrefix("ken:") }
        let kenFields = kenLine.map { $0.split(separator: ":", omittingEmptySubsequences: false) } ?? []
        XCTAssertEqual(kenFields.count, 7, "passwd has the user ken: \(passwd)")
        if kenFields.count == 7 { XCTAssertEqual(kenFields[5], "/var/lib/kend") }
        XCTAssertTrue(group.split(separator: "\n").contains { $0.hasPrefix("ken:") }, group)
        XCTAssertTrue(group.split(separator: "\n").contains { $0.hasPrefix("ken-admin:") }, group)

        let dirs = try Shell.run(tmpfiles, ["--root=" + root.path, "--create",
                                            systemdDirectory.appendingPathComponent("ken.tmpfiles.conf").path])
        XCTAssertEqual(dirs.status, 0, dirs.stderr)
        let kenUID = kenFields.count == 7 ? Int(kenFields[2]) : nil
        let expected: [(String, Int, Bool)] = [  // path, mode, owned by ken
            ("run/ken", 0o755, false), ("var/lib/ken", 0o750, false), ("var/lib/kend", 0o750, true),
            ("etc/ken/extensions.d", 0o755, false), ("sys/fs/bpf/ken", 0o700, false),
        ]
        for (path, mode, ownedByKen) in expected {
            let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeDirectory, path)
            XCTAssertEqual((attributes[.posixPermissions] as? Int).map { $0 & 0o7777 }, mode, path)
            let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue
            XCTAssertEqual(owner, ownedByKen ? kenUID : 0, "owner of \(path)")
        }
    }
}
