import Foundation
import XCTest

/// A minimal Debian 12 root with systemd and Ken's runtime dependencies, made by debootstrap once
/// per package list and kept outside the repository, so reruns skip the ~45 s download.
///
/// The cache lives in `$KEN_TEST_ROOT_CACHE` (default `/var/cache/ken-test-root`), one directory
/// per key: the SHA-256 of the suite, mirror and sorted package list. A root is built under a
/// temporary name and renamed into place only when debootstrap succeeded, so an interrupted run
/// never leaves a half-made root that a later run would trust. Containers boot it read-only
/// with a tmpfs overlay (`--volatile=overlay`): the cached root never changes.
enum DebianTestRoot {
    static let suite = "bookworm"
    static var mirror: String { ProcessInfo.processInfo.environment["KEN_TEST_DEBIAN_MIRROR"] ?? "http://deb.debian.org/debian" }
    static var cacheDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["KEN_TEST_ROOT_CACHE"] ?? "/var/cache/ken-test-root")
    }

    /// What a root for Ken needs beyond the package's own Depends: systemd as PID 1, and the
    /// tools the checks use (pgrep, ss).
    static let basePackages = ["systemd", "systemd-sysv", "procps", "iproute2"]

    /// The package names in a Depends field (`a (>= 1), b | c` → a, b): the first alternative of
    /// each, without version constraints or architecture qualifiers.
    static func packageNames(depends: String) -> [String] {
        depends.split(separator: ",").compactMap { clause in
            let first = clause.split(separator: "|").first.map(String.init) ?? ""
            let name = first.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            let bare = name.split(separator: ":").first.map(String.init) ?? ""
            return bare.isEmpty ? nil : bare
        }
    }

    /// The root for `packages`, from the cache or made now. Throws XCTSkip when debootstrap is
    /// missing or Debian's mirror cannot be reached.
    static func prepare(packages: [String]) throws -> (root: URL, cached: Bool, seconds: Double) {
        let debootstrap = try Shell.require("debootstrap", package: "debootstrap")
        let list = Array(Set(packages + basePackages)).sorted()
        let key = try Shell.run("/bin/sh", ["-c", "printf '%s' \"$0\" | sha256sum | cut -c1-16",
                                            "\(suite)\n\(mirror)\n\(list.joined(separator: "\n"))"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = cacheDirectory.appendingPathComponent("\(suite)-\(key)")
        if FileManager.default.fileExists(atPath: root.appendingPathComponent("sbin/init").path) {
            return (root, true, 0)
        }
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        let partial = cacheDirectory.appendingPathComponent("\(suite)-\(key).partial-\(getpid())")
        try? FileManager.default.removeItem(at: partial)
        let started = Date()
        let result = try Shell.run("/usr/bin/timeout", ["600", debootstrap, "--variant=minbase",
                                                         "--include=" + list.joined(separator: ","),
                                                         suite, partial.path, mirror])
        let seconds = Date().timeIntervalSince(started)
        guard result.status == 0 else {
            let log = (try? String(contentsOf: partial.appendingPathComponent("debootstrap/debootstrap.log"), encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: partial)
            let output = result.stdout + result.stderr + log
            if output.contains("Failed getting release file") || output.contains("Temporary failure resolving")
                || output.contains("Could not resolve") || output.contains("Connection refused") || result.status == 124 {
                throw XCTSkip("Debian's mirror \(mirror) is not reachable (debootstrap: \(output.suffix(300)))")
            }
            throw XCTSkip("debootstrap could not make a Debian \(suite) root (status \(result.status)): \(output.suffix(600))")
        }
        // A concurrent run may have finished first; either copy is complete, keep one.
        if (try? FileManager.default.moveItem(at: partial, to: root)) == nil {
            try? FileManager.default.removeItem(at: partial)
        }
        return (root, false, seconds)
    }
}

/// A container booted with `systemd-nspawn -b` from a read-only root: systemd is PID 1 inside,
/// with a private network, every capability, the bpf and perf_event_open system calls allowed and
/// a private bpffs on /sys/fs/bpf (so pinned links never touch the host's). tracefs is not bound:
/// nspawn hides such a bind, and the container's systemd mounts its own.
///
/// Commands run inside through `nsenter` into every namespace of the container's PID 1, with a
/// clean environment, and under `timeout` so a hung command fails the test instead of CI.
final class NspawnContainer {
    let nspawn: Process
    let leader: pid_t
    let scratch: URL
    private let bpffs: URL
    let console: URL

    /// Boots `root`. `binds` are read-only host paths (host path → container path).
    init(root: URL, binds: [(String, String)]) throws {
        let systemdNspawn = try Shell.require("systemd-nspawn", package: "systemd-container")
        _ = try Shell.require("nsenter", package: "util-linux")
        scratch = try Shell.temporaryDirectory("nspawn")
        bpffs = scratch.appendingPathComponent("bpffs")
        console = scratch.appendingPathComponent("console.log")
        try FileManager.default.createDirectory(at: bpffs, withIntermediateDirectories: true)
        let mount = try Shell.run("/bin/mount", ["-t", "bpf", "bpf", bpffs.path])
        guard mount.status == 0 else {
            try? FileManager.default.removeItem(at: scratch)
            throw XCTSkip("cannot mount a private bpffs for the container: \(mount.stderr)")
        }

        var arguments = ["--quiet", "-D", root.path, "-b", "--register=no", "--keep-unit", "--private-network",
                         "--capability=all", "--system-call-filter=bpf perf_event_open",
                         "--volatile=overlay", "--console=passive", "-M", "ken-test-\(getpid())",
                         "--bind=\(bpffs.path):/sys/fs/bpf"]
        for (host, inside) in binds { arguments.append("--bind-ro=\(host):\(inside)") }
        _ = FileManager.default.createFile(atPath: console.path, contents: nil)
        let log = try FileHandle(forWritingTo: console)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: systemdNspawn)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            _ = try? Shell.run("/bin/umount", [bpffs.path])
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
        try? log.close()
        nspawn = process

        // The container's PID 1 is nspawn's child whose innermost pid is 1.
        var found: pid_t?
        let deadline = Date().addingTimeInterval(30)
        while found == nil, process.isRunning, Date() < deadline {
            let children = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                                        encoding: .utf8)) ?? ""
            for child in children.split(separator: " ").compactMap({ pid_t($0) }) {
                let status = (try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8)) ?? ""
                if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }),
                   line.split(separator: "\t").last == "1" {
                    found = child
                }
            }
            if found == nil { usleep(100_000) }
        }
        guard let found else {
            let output = (try? String(contentsOf: console, encoding: .utf8)) ?? ""
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            _ = try? Shell.run("/bin/umount", [bpffs.path])
            try? FileManager.default.removeItem(at: scratch)
            throw XCTSkip("systemd-nspawn did not start a container here: \(output.suffix(800))")
        }
        leader = found
    }

    /// Runs `script` with /bin/sh inside the container as root (or `user`), with a clean
    /// environment and a time limit.
    @discardableResult
    func sh(_ script: String, timeout seconds: Int = 60) throws -> ProcessResult {
        try Shell.run("/usr/bin/timeout", ["--kill-after=5", "\(seconds)", "nsenter", "-t", "\(leader)", "-a",
                                            "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root",
                                            "/bin/sh", "-c", script])
    }

    /// The path of `path` inside the container, seen from the host (to write files into it).
    func hostPath(_ path: String) -> String { "/proc/\(leader)/root\(path)" }

    /// Powers the container off (nspawn turns SIGTERM into an orderly shutdown), kills it if that
    /// takes too long, and removes the private bpffs and scratch files.
    func shutdown() {
        if nspawn.isRunning {
            nspawn.terminate()
            let deadline = Date().addingTimeInterval(20)
            while nspawn.isRunning, Date() < deadline { usleep(100_000) }
            if nspawn.isRunning { kill(nspawn.processIdentifier, SIGKILL) }
            nspawn.waitUntilExit()
        }
        _ = try? Shell.run("/bin/umount", ["-l", bpffs.path])
        try? FileManager.default.removeItem(at: scratch)
    }
}
