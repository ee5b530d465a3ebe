import BPF
import Foundation
import Spawn

/// The file a uprobe's target names, resolved as bpftrace 0.17 resolves it, at generation time:
/// libbpf needs an absolute path in the section (a bare `libssl` fails to attach with "failed to
/// resolve full path"), while bpftrace accepts `uprobe:libc:getaddrinfo`.
///
/// A target with a `/` is a path and is kept as written. Otherwise: an executable of that name on
/// the standard `PATH` (`uprobe:bash:readline`), else the first library in the dynamic linker's
/// cache (`ldconfig -p`, this machine's architecture) whose name starts with `<target>.so`
/// (`libc` → `/lib/x86_64-linux-gnu/libc.so.6`, `libssl` → `libssl.so.3`), else the same search
/// in the standard library directories. bpftrace does not add a `lib` prefix (`c` does not
/// resolve), so neither does this.
enum UprobeBinary {
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    static var libraryDirectories: [String] {
        let triplet = architectureTag == "AArch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu"
        return ["/lib/\(triplet)", "/usr/lib/\(triplet)", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"]
    }

    /// How `ldconfig -p` tags this machine's libraries.
    static var architectureTag: String {
        #if arch(arm64)
        return "AArch64"
        #else
        return "x86-64"
        #endif
    }

    static func resolve(_ target: String) throws(NativeCompileError) -> String {
        if target.contains("/") { return target }
        guard !target.isEmpty, !target.contains(":") else { throw .unresolved("uprobe target '\(target)' is not a file name") }
        for directory in searchPath {
            let path = directory + "/" + target
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        if let path = cachedLibrary(target, in: linkerCache()) { return path }
        for directory in libraryDirectories {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            // `libc.so` is often a linker script: only ELF files count.
            if let name = names.first(where: { $0.hasPrefix(target + ".so") && isELF(directory + "/" + $0) }) { return directory + "/" + name }
        }
        throw .unresolved("uprobe target '\(target)' is neither an executable on PATH nor a library "
            + "\(target).so* in the linker cache or \(libraryDirectories.joined(separator: ", "))")
    }

    /// False only when `binary` is an ELF file that does not define `function` (an unreadable
    /// or unusual file is left for libbpf to judge). Addresses (`uprobe:/bin/x:0x1234`) pass.
    static func defines(_ binary: String, function: String) -> Bool {
        if function.hasPrefix("0x") || function.first?.isNumber == true { return true }
        guard let functions = ELFFunctions.defined(inFile: binary) else { return true }
        return functions.contains(function)
    }

    static func isELF(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data([0x7F, 0x45, 0x4C, 0x46])
    }

    /// The first `ldconfig -p` entry for this architecture whose name starts with `<target>.so`.
    static func cachedLibrary(_ target: String, in listing: String) -> String? {
        for line in listing.split(separator: "\n") {
            // "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix(target + ".so"), let arrow = text.range(of: " => ") else { continue }
            let flags = text[..<arrow.lowerBound]
            guard flags.contains(architectureTag) else { continue }
            let path = String(text[arrow.upperBound...])
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    /// `ldconfig -p`'s listing of the dynamic linker's cache; empty when ldconfig is missing.
    static func linkerCache() -> String {
        guard let ldconfig = ["/usr/sbin/ldconfig", "/sbin/ldconfig"].first(where: FileManager.default.isExecutableFile) else { return "" }
        // Spawn, not Foundation's Process (see Clang): the listing goes to a private file.
        guard let directory = try? Clang.privateDirectory() else { return "" }
        let listing = directory + "/ldconfig.txt"
        defer {
            unlink(listing)
            rmdir(directory)
        }
        guard let pid = try? Spawn.start(executable: ldconfig, arguments: ["-p"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                                         stdin: .devNull, stdout: .truncate(listing), stderr: .devNull),
              Spawn.wait(pid, seconds: 10) == .exited(0) else { return "" }
        let data = FileManager.default.contents(atPath: listing) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
