import Foundation
import XCTest

/// The .deb really installs, removes and purges with dpkg, maintainer scripts included, without
/// touching this machine: dpkg runs in a private mount namespace where /etc, /var, /usr and /run
/// are overlays whose writes land in a tmpfs (and /sys/fs/bpf is a tmpfs), all gone when the
/// namespace ends. systemd is not PID 1 there, so the scripts take their "no running systemd"
/// path: users, directories and enablement symlinks, no start.
final class DebInstallTests: XCTestCase {
    /// Runs inside the namespace; prints KEY=VALUE lines the test checks.
    static let script = #"""
        set -u
        deb=$1
        T=$2
        mount -t tmpfs tmpfs "$T" || exit 90
        for d in etc var usr run; do
            mkdir -p "$T/$d-up" "$T/$d-work"
            mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/$d-up,workdir=$T/$d-work" "/$d" || exit 91
        done
        if [ -d /sys/fs/bpf ]; then mount -t tmpfs tmpfs /sys/fs/bpf || exit 92; fi
        dpkg -i "$deb" >"$T/install.log" 2>&1; echo "INSTALL=$?"
        echo "USER=$(getent passwd ken)"
        echo "ADMIN=$(getent group ken-admin | cut -d: -f1)"
        for p in /var/lib/ken /var/lib/kend /run/ken /etc/ken/extensions.d; do
            echo "DIR $p=$(stat -c '%U:%G:%a' "$p" 2>&1)"
        done
        for u in ken-agent.socket kend.socket; do
            echo "ENABLED $u=$(readlink /etc/systemd/system/sockets.target.wants/$u)"
        done
        echo "STATUS=$(dpkg-query -W -f '${Status}' ken 2>&1)"
        echo "MAN=$(man -w kenc 2>&1)"
        echo "AGENT=$(test -x /usr/sbin/ken-agent && echo yes)"
        dpkg -r ken >"$T/remove.log" 2>&1; echo "REMOVE=$?"
        echo "AFTER_REMOVE_BINARY=$(test -e /usr/sbin/ken-agent && echo present || echo gone)"
        echo "AFTER_REMOVE_CONFFILE=$(test -e /etc/ken/agent.toml && echo present || echo gone)"
        echo "AFTER_REMOVE_STATE=$(test -d /var/lib/ken && echo present || echo gone)"
        dpkg -P ken >"$T/purge.log" 2>&1; echo "PURGE=$?"
        echo "AFTER_PURGE_CONFFILE=$(test -e /etc/ken/agent.toml && echo present || echo gone)"
        echo "AFTER_PURGE_STATE=$(test -e /var/lib/ken -o -e /var/lib/kend && echo present || echo gone)"
        echo "AFTER_PURGE_ENABLED=$(ls /etc/systemd/system/sockets.target.wants/ 2>/dev/null | grep -c '^ken')"
        echo "LOGS<<"; cat "$T/install.log" "$T/remove.log" "$T/purge.log"; echo ">>"
        """#

    func testInstallRemovePurgeInAPrivateNamespace() throws {
        guard geteuid() == 0 else { throw XCTSkip("dpkg -i and mount namespaces need root") }
        let unshare = try Shell.require("unshare", package: "util-linux")
        _ = try Shell.require("dpkg", package: "dpkg")
        _ = try Shell.require("dpkg-shlibdeps", package: "dpkg-dev")
        guard (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8))?.contains("overlay") == true else {
            throw XCTSkip("the kernel has no overlay file system to sandbox dpkg with")
        }
        guard let bin = Shell.builtProgramsDirectory() else {
            throw XCTSkip("ken-agent, kend and kenc are not built (run swift build, or set KEN_BIN_DIR)")
        }
        let out = try Shell.temporaryDirectory("install")
        defer { try? FileManager.default.removeItem(at: out) }
        let build = try Shell.run("/bin/bash", [Shell.repository.appendingPathComponent("packaging/build-deb").path,
                                                "--bin-dir", bin.path, "--compress", "none", "--out", out.path])
        XCTAssertEqual(build.status, 0, build.stderr)
        let deb = build.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let scriptURL = out.appendingPathComponent("install-test.sh")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)

        let sandbox = out.appendingPathComponent("sandbox")
        try FileManager.default.createDirectory(at: sandbox, withIntermediateDirectories: true)
        let result = try Shell.run(unshare, ["--mount", "--propagation", "private", "/bin/sh", scriptURL.path, deb, sandbox.path])
        if result.status == 90 || result.status == 91 || result.status == 92 {
            throw XCTSkip("cannot build the sandbox (mount failed with \(result.status)): \(result.stderr)")
        }
        let lines = result.stdout.components(separatedBy: "\n")
        func value(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        let logs = result.stdout.components(separatedBy: "LOGS<<").last ?? result.stderr
        XCTAssertEqual(value("INSTALL"), "0", "dpkg -i: \(logs)")
        let user = value("USER")?.split(separator: ":", omittingEmptySubsequences: false).map(String.init) ?? []
        XCTAssertEqual(user.first, "ken", "postinst created the user ken")
        if user.count == 7 {
            XCTAssertEqual(user[5], "/var/lib/kend")
            XCTAssertEqual(user[6], "/usr/sbin/nologin")
        }
        XCTAssertEqual(value("ADMIN"), "ken-admin")
        XCTAssertEqual(value("DIR /var/lib/ken"), "root:root:750")
        XCTAssertEqual(value("DIR /var/lib/kend"), "ken:ken:750")
        XCTAssertEqual(value("DIR /run/ken"), "root:root:755")
        XCTAssertEqual(value("DIR /etc/ken/extensions.d"), "root:root:755")
        XCTAssertEqual(value("ENABLED ken-agent.socket"), "/lib/systemd/system/ken-agent.socket")
        XCTAssertEqual(value("ENABLED kend.socket"), "/lib/systemd/system/kend.socket")
        XCTAssertEqual(value("STATUS"), "install ok installed")
        XCTAssertEqual(value("MAN"), "/usr/share/man/man1/kenc.1.gz", "man finds the installed page")
        XCTAssertEqual(value("AGENT"), "yes")
        XCTAssertEqual(value("REMOVE"), "0", logs)
        XCTAssertEqual(value("AFTER_REMOVE_BINARY"), "gone")
        XCTAssertEqual(value("AFTER_REMOVE_CONFFILE"), "present", "remove keeps conffiles")
        XCTAssertEqual(value("AFTER_REMOVE_STATE"), "present", "remove keeps the registry")
        XCTAssertEqual(value("PURGE"), "0", logs)
        XCTAssertEqual(value("AFTER_PURGE_CONFFILE"), "gone")
        XCTAssertEqual(value("AFTER_PURGE_STATE"), "gone", "purge removes /var/lib/ken and /var/lib/kend")
        XCTAssertEqual(value("AFTER_PURGE_ENABLED"), "0", "purge removes the enablement symlinks")
    }
}
