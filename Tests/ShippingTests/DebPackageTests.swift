import Foundation
import XCTest

/// packaging/build-deb, fed the already-built binaries (no release rebuild: that takes minutes),
/// produces a .deb with every file, control field and maintainer script Ken ships.
final class DebPackageTests: XCTestCase {
    static let expectedFiles = [
        "./usr/sbin/ken-agent", "./usr/sbin/kend", "./usr/bin/kenc", "./usr/libexec/ken/ken-verify",
        "./lib/systemd/system/ken-agent.service", "./lib/systemd/system/ken-agent.socket",
        "./lib/systemd/system/kend.service", "./lib/systemd/system/kend.socket",
        "./usr/lib/sysusers.d/ken.conf", "./usr/lib/tmpfiles.d/ken.conf",
        "./usr/share/man/man1/kenc.1.gz", "./usr/share/man/man5/ken.toml.5.gz",
        "./usr/share/man/man8/ken-agent.8.gz", "./usr/share/man/man8/kend.8.gz",
        "./usr/share/bash-completion/completions/kenc", "./usr/share/zsh/vendor-completions/_kenc",
        "./usr/share/fish/vendor_completions.d/kenc.fish",
        "./usr/share/ken/corpus/README.md",
        "./etc/ken/agent.toml", "./etc/ken/extensions.d/", "./etc/ken/extensions.d/example.toml.sample",
    ]

    var buildDeb: String { Shell.repository.appendingPathComponent("packaging/build-deb").path }

    func testBuildDebFromPrebuiltBinaries() throws {
        let dpkgDeb = try Shell.require("dpkg-deb", package: "dpkg")
        _ = try Shell.require("dpkg-shlibdeps", package: "dpkg-dev")
        guard let bin = Shell.builtProgramsDirectory() else {
            throw XCTSkip("ken-agent, kend and kenc are not built (run swift build, or set KEN_BIN_DIR)")
        }
        let out = try Shell.temporaryDirectory("deb")
        defer { try? FileManager.default.removeItem(at: out) }

        let started = Date()
        let build = try Shell.run("/bin/bash", [buildDeb, "--bin-dir", bin.path, "--compress", "none", "--out", out.path])
        XCTAssertEqual(build.status, 0, "build-deb failed:\n\(build.stderr)")
        let version = try String(contentsOf: Shell.repository.appendingPathComponent("packaging/VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let arch = try Shell.run(try Shell.require("dpkg", package: "dpkg"), ["--print-architecture"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let deb = out.appendingPathComponent("ken_\(version)_\(arch).deb").path
        XCTAssertEqual(build.stdout.trimmingCharacters(in: .whitespacesAndNewlines), deb, "build-deb prints the .deb's path")
        XCTAssertLessThan(Date().timeIntervalSince(started), 45, "assembling from prebuilt binaries stays quick")

        let contents = try Shell.run(dpkgDeb, ["-c", deb])
        XCTAssertEqual(contents.status, 0, contents.stderr)
        let listed = Set(contents.stdout.split(separator: "\n").compactMap { line -> String? in
            line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init)
        })
        for file in Self.expectedFiles {
            XCTAssertTrue(listed.contains(file), "the .deb contains \(file)")
        }
        let corpus = try FileManager.default.subpathsOfDirectory(atPath: Shell.repository.appendingPathComponent("corpus").path)
            .filter { !$0.hasPrefix(".") }
        for path in corpus {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(
                atPath: Shell.repository.appendingPathComponent("corpus/\(path)").path, isDirectory: &isDirectory)
            XCTAssertTrue(exists, path)
            let packaged = "./usr/share/ken/corpus/\(path)" + (isDirectory.boolValue ? "/" : "")
            XCTAssertTrue(listed.contains(packaged), "the .deb ships corpus/\(path)")
        }
        XCTAssertTrue(contents.stdout.contains("-rwxr-xr-x root/root"), "binaries are executable and owned by root")
        XCTAssertFalse(contents.stdout.split(separator: "\n").contains { !$0.contains("root/root") }, "every file is root:root")

        let info = try Shell.run(dpkgDeb, ["-I", deb])
        XCTAssertEqual(info.status, 0, info.stderr)
        for field in ["Package: ken", "Version: \(version)", "Architecture: \(arch)", "Maintainer: ", "Installed-Size: ",
                      "Depends: ", "Section: admin", "Description: "] {
            XCTAssertTrue(info.stdout.contains(" " + field), "control has \(field)")
        }
        for script in ["postinst", "prerm", "postrm", "conffiles", "md5sums"] {
            XCTAssertTrue(info.stdout.split(separator: "\n").contains { $0.split(separator: " ").contains(Substring(script)) },
                          "control archive has \(script)")
        }

        let depends = try Shell.run(dpkgDeb, ["-f", deb, "Depends"]).stdout
        for package in ["bpftrace", "libc6", "libbpf1", "libsystemd0", "libsqlite3-0", "libz3-4", "libcurl4"] {
            XCTAssertTrue(depends.contains(package), "Depends names \(package): \(depends)")
        }

        let control = try Shell.temporaryDirectory("control")
        defer { try? FileManager.default.removeItem(at: control) }
        let extract = try Shell.run(dpkgDeb, ["-e", deb, control.path])
        XCTAssertEqual(extract.status, 0, extract.stderr)
        let conffiles = try String(contentsOf: control.appendingPathComponent("conffiles"), encoding: .utf8)
        XCTAssertEqual(conffiles.split(separator: "\n").sorted(),
                       ["/etc/ken/agent.toml", "/etc/ken/extensions.d/example.toml.sample"])
        for script in ["postinst", "prerm", "postrm"] {
            let path = control.appendingPathComponent(script).path
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path), "\(script) is executable")
            let syntax = try Shell.run("/bin/sh", ["-n", path])
            XCTAssertEqual(syntax.status, 0, "\(script): \(syntax.stderr)")
        }
        let postinst = try String(contentsOf: control.appendingPathComponent("postinst"), encoding: .utf8)
        for needle in ["systemd-sysusers /usr/lib/sysusers.d/ken.conf", "systemd-tmpfiles --create /usr/lib/tmpfiles.d/ken.conf",
                       "[ -d /run/systemd/system ]", "ken-agent.socket kend.socket"] {
            XCTAssertTrue(postinst.contains(needle), "postinst: \(needle)")
        }
        let postrm = try String(contentsOf: control.appendingPathComponent("postrm"), encoding: .utf8)
        XCTAssertTrue(postrm.contains("rm -rf /var/lib/ken /var/lib/kend"), "purge removes Ken's state")

        // The packaged man pages and completions are the real ones.
        let tree = try Shell.temporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(at: tree) }
        let unpack = try Shell.run(dpkgDeb, ["-x", deb, tree.path])
        XCTAssertEqual(unpack.status, 0, unpack.stderr)
        let zcat = try Shell.run("/bin/sh", ["-c", "gzip -dc \"$0\"", tree.appendingPathComponent("usr/share/man/man1/kenc.1.gz").path])
        XCTAssertEqual(zcat.stdout, try String(contentsOf: Shell.repository.appendingPathComponent("man/kenc.1"), encoding: .utf8))
        let zsh = try String(contentsOf: tree.appendingPathComponent("usr/share/zsh/vendor-completions/_kenc"), encoding: .utf8)
        XCTAssertTrue(zsh.hasPrefix("#compdef kenc"), "zsh completion")
        let bash = try String(contentsOf: tree.appendingPathComponent("usr/share/bash-completion/completions/kenc"), encoding: .utf8)
        XCTAssertTrue(bash.contains("complete") && bash.contains("synth"), "bash completion")
        let fish = try String(contentsOf: tree.appendingPathComponent("usr/share/fish/vendor_completions.d/kenc.fish"), encoding: .utf8)
        XCTAssertTrue(fish.contains("complete -c 'kenc'") && fish.contains("synth"), "fish completion")
        let kenc = try Shell.run(tree.appendingPathComponent("usr/bin/kenc").path, ["--version"])
        XCTAssertEqual(kenc.stdout.trimmingCharacters(in: .whitespacesAndNewlines), version)
    }

    func testBuildDebRefusesAMissingBinaryDirectory() throws {
        let result = try Shell.run("/bin/bash", [buildDeb, "--bin-dir", "/nonexistent/ken-bin", "--out", NSTemporaryDirectory()])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("build-deb:"), result.stderr)
        XCTAssertEqual(result.stdout, "", "no .deb path is printed on failure")
    }

    func testBuildDebRejectsUnknownArguments() throws {
        let result = try Shell.run("/bin/bash", [buildDeb, "--frobnicate"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown argument: --frobnicate"), result.stderr)
    }
}
