import ArgumentParser
import Foundation

/// The arguments of `kenc verify`, parsed the same way by kenc (for its help, completion and
/// usage errors) and by the `ken-verify` helper that runs the verifier.
public struct VerifyArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("The bpftrace program (.bt) with assume/assert annotations.", valueName: "file"),
              completion: .file(extensions: ["bt"]))
    public var file: String

    @Option(name: .long, help: ArgumentHelp("The English request the program was written for (recorded in the result).", valueName: "text"))
    public var prompt: String?

    @Option(name: .long, help: ArgumentHelp("Per-query solver timeout in seconds (default: 10).", valueName: "seconds"))
    public var timeout: Double?

    /// The solver timeout per query, in seconds.
    public var queryTimeout: Double { timeout ?? 10 }

    @Flag(name: .long, help: "Do not resolve types against the running kernel; use bpftrace's defaults.")
    public var noKernel = false

    public init() {}

    public func validate() throws {
        guard queryTimeout.isFinite, queryTimeout > 0 else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    /// The same arguments as the helper's command line (`--json` is kenc's shared flag).
    public func helperArguments(json: Bool) -> [String] {
        var arguments = ["--timeout", String(queryTimeout)]
        if let prompt { arguments += ["--prompt", prompt] }
        if json { arguments.append("--json") }
        if noKernel { arguments.append("--no-kernel") }
        return arguments + ["--", file]
    }
}

/// Finding and running `ken-verify`, the helper that holds the symbolic verifier (and with it
/// Z3) so that kenc itself links neither Z3 nor libcurl.
public enum VerifyHelper {
    public static let name = "ken-verify"
    /// Where the Debian package installs it.
    public static let installedPath = "/usr/libexec/ken/ken-verify"

    /// Next to kenc's own executable first (a build directory, or a tree installed together),
    /// then the packaged location.
    public static func locate(executable: String? = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) -> String? {
        var candidates: [String] = []
        if let executable {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path)
        }
        candidates.append(installedPath)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Replaces this process with the helper; returns only by throwing.
    public static func exec(_ arguments: [String]) throws(ClientError) -> Never {
        guard let helper = locate() else {
            throw ClientError(.failure, "kenc verify needs \(name), which is not installed (looked next to kenc and at \(installedPath))",
                              hint: "reinstall the ken package, or build it with swift build --product \(name)")
        }
        let argv = ([helper] + arguments).map { strdup($0) } + [nil]
        execv(helper, argv)
        let reason = String(cString: strerror(errno))
        throw ClientError(.failure, "cannot run \(helper): \(reason)")
    }
}
