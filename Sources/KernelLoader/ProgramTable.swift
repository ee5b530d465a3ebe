import BPF
import Foundation

/// The kernel's programs and who holds them: the agent's view for status, listing and leak checks.
public enum ProgramTable {
    /// Every program in the kernel with type, name, tag, uid, load time, map ids and memlock
    /// bytes (as `bpftool prog list` prints them). Requires root.
    public static func all() throws -> [KernelProgram] {
        try KernelPrograms.all()
    }

    /// One program by id; nil if it no longer exists.
    public static func program(id: UInt32) -> KernelProgram? {
        try? KernelPrograms.info(id: id)
    }

    /// True while a program with this id is loaded.
    public static func exists(id: UInt32) -> Bool {
        program(id: id) != nil
    }

    /// The program ids a process holds open (a bpftrace extension's programs).
    public static func programIDs(ownedBy pid: Int32) -> [UInt32] {
        ProcFS.programIDs(ofProcess: pid)
    }

    /// The program ids attached through the links pinned in `directory` (an object extension's
    /// pin directory). Entries that are not links are skipped.
    public static func programIDs(pinnedUnder directory: String) -> [UInt32] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return names.compactMap { try? PinnedLink.open(at: directory + "/" + $0).info.programID }
    }
}
