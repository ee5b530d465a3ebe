import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine reported by Status.
enum HostInfo {
    /// `uname -r`.
    static func kernelRelease() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
