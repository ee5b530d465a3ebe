import CBPF
import Foundation

/// The kernel memory a map is charged, by id: what `bpftool map show` prints as memlock. For
/// measuring what an extension costs (ken-bench), beside `KernelProgramInfo.bytesMemlock`.
public enum KernelMapMemory {
    /// The map's memlock bytes from its fdinfo; nil if the map is gone or the kernel does not say.
    public static func memlock(mapID: UInt32) -> UInt64? {
        let raw = bpf_map_get_fd_by_id(mapID)
        guard raw >= 0 else { return nil }
        let fd = BPFFileDescriptor(owning: raw)
        return FDInfo.read(fd: fd.rawValue)["memlock"].flatMap { UInt64($0) }
    }

    /// Memlock of the programs with these ids and of every map they use (each map once).
    public static func memlock(programIDs: [UInt32]) -> UInt64 {
        var total: UInt64 = 0
        var maps = Set<UInt32>()
        for id in programIDs {
            guard let info = try? KernelPrograms.info(id: id) else { continue }
            total += info.bytesMemlock ?? 0
            maps.formUnion(info.mapIDs)
        }
        for map in maps { total += memlock(mapID: map) ?? 0 }
        return total
    }
}
