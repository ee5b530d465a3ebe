import CBPF
import Foundation

/// A link reopened from its pin in bpffs (`bpf_obj_get`): used after an agent restart to find out
/// which link and program a pinned extension still has in the kernel.
public struct PinnedLink: Sendable {
    /// The bpffs path it was opened from.
    public let path: String
    /// This process's reference to the link; closing it does not detach (the pin remains).
    public let fd: BPFFileDescriptor
    /// Link id, program id and link type.
    public let info: LinkInfo

    /// Opens the link pinned at `path`.
    ///
    /// - Throws: `BPFError` (.openPinned) if nothing is pinned there, or (.invalidArgument) if the
    ///   pinned object is a program or map rather than a link.
    public static func open(at path: String) throws -> PinnedLink {
        let raw = bpf_obj_get(path)
        guard raw >= 0 else {
            throw BPFError(.openPinned, errno: currentErrno(raw), subject: path)
        }
        let fd = BPFFileDescriptor(owning: raw)
        // bpf_obj_get opens any pinned object; only a link has a "link_id" in its fdinfo.
        guard FDInfo.read(fd: raw)["link_id"] != nil else {
            throw BPFError(.invalidArgument, errno: EINVAL, subject: "\(path) is not a BPF link")
        }
        return PinnedLink(path: path, fd: fd, info: try LinkInfo(fd: raw, subject: path))
    }

    /// Removes the pin at `path`. If no other reference holds the link, the kernel detaches it
    /// and, with its last reference gone, unloads the program (asynchronously, within
    /// milliseconds).
    ///
    /// - Throws: `BPFError` (.unpin) with errno, e.g. ENOENT if nothing is pinned there.
    public static func unpin(at path: String) throws {
        if Glibc.unlink(path) != 0 {
            throw BPFError(.unpin, errno: currentErrno(), subject: path)
        }
    }
}

/// Reads `/proc/self/fdinfo/<fd>` as key/value pairs: the kernel's own per-fd facts about a BPF
/// object (prog_id, link_id, map_id, memlock, ...), the same source bpftool uses for memlock.
enum FDInfo {
    static func read(fd: Int32) -> [String: String] {
        read(path: "/proc/self/fdinfo/\(fd)")
    }

    static func read(path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields[key] = value
        }
        return fields
    }
}

/// Waiting for BPF programs that are running right now.
public enum KernelGracePeriod {
    /// Returns once every BPF program run that began before the call has ended: an RCU grace
    /// period (`membarrier(MEMBARRIER_CMD_GLOBAL)`), which is what the kernel itself waits for
    /// before freeing a detached program. Where the kernel refuses it (nohz_full), sleeps
    /// 50 ms instead, far longer than any program may run. Returns false in that case.
    @discardableResult
    public static func wait() -> Bool {
        if ken_synchronize_rcu() == 0 { return true }
        usleep(50_000)
        return false
    }
}
