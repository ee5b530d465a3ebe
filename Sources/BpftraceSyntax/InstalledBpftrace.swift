import Foundation

/// The bpftrace installed on this machine: its version decides the dialect Ken prints in.
public enum InstalledBpftrace {
    /// The first line `bpftrace --version` prints (`bpftrace v0.17.0`), or nil when it cannot be
    /// run. `executable` is a path, or a name looked up on PATH.
    public static func versionLine(executable: String = "bpftrace") -> String? {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["--version"]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable, "--version"]
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// The dialect the installed bpftrace accepts, or nil when it cannot be run or its version
    /// line is not one Ken knows.
    public static func dialect(executable: String = "bpftrace") -> BpftraceDialect? {
        versionLine(executable: executable).flatMap(BpftraceDialect.init(versionOutput:))
    }
}
