import CBPF
import Foundation

/// One program loaded in the kernel, as `bpftool prog list` shows it.
public struct KernelProgramInfo: Sendable, Hashable {
    /// The kernel's program id.
    public let id: UInt32
    /// The program type number (`enum bpf_prog_type`).
    public let type: UInt32
    /// libbpf's name for the type ("tracepoint", "kprobe", ...).
    public let typeName: String
    /// The program name as the kernel keeps it (at most 15 bytes).
    public let name: String
    /// The 8-byte program tag as 16 hex digits (a hash of the instructions), like bpftool's "tag".
    public let tag: String
    /// The uid that loaded it.
    public let uid: UInt32
    /// Nanoseconds since boot at load time (CLOCK_BOOTTIME, as the kernel reports it).
    public let loadTimeSinceBoot: UInt64
    /// The wall-clock load time (boot time + `loadTimeSinceBoot`), like bpftool's "loaded_at".
    public let loadedAt: Date
    /// Ids of the maps the program uses.
    public let mapIDs: [UInt32]
    /// Locked memory charged to the program, from fdinfo "memlock" (bpftool's "memlock");
    /// nil if the kernel does not report it.
    public let bytesMemlock: UInt64?
    /// Instructions after verification (translated), in bytes.
    public let translatedBytes: UInt32
    /// JITed code size in bytes.
    public let jitedBytes: UInt32
    /// Instructions the verifier processed.
    public let verifiedInstructions: UInt32
    /// BTF object id, 0 if none.
    public let btfID: UInt32
}

/// The kernel's program table: every program (`bpf_prog_get_next_id`) with its info.
///
/// Requires CAP_SYS_ADMIN (root) like bpftool; programs that vanish between listing and opening
/// are skipped silently (they were unloaded meanwhile, which is not an error).
public enum KernelPrograms {
    /// Every program loaded in the kernel, in id order.
    ///
    /// - Throws: `BPFError` (.nextProgramID) if the kernel refuses the iteration (EPERM when not
    ///   privileged).
    public static func all() throws -> [KernelProgramInfo] {
        try allIDs().compactMap { try? info(id: $0) }
    }

    /// Every program id in the kernel (cheaper than `all()` when only ids are needed).
    public static func allIDs() throws -> [UInt32] {
        try KernelObjectIDs.walk("program ids", bpf_prog_get_next_id)
    }

    /// The program with this id.
    ///
    /// - Throws: `BPFError` (.programByID) with ENOENT if no such program exists (any more).
    public static func info(id: UInt32) throws -> KernelProgramInfo {
        let raw = bpf_prog_get_fd_by_id(id)
        guard raw >= 0 else {
            throw BPFError(.programByID, errno: currentErrno(raw), subject: "program id \(id)")
        }
        let fd = BPFFileDescriptor(owning: raw)
        return try info(fd: fd.rawValue)
    }

    /// The program behind an open program fd.
    public static func info(fd: Int32) throws -> KernelProgramInfo {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        var rc = bpf_obj_get_info_by_fd(fd, &info, &length)
        guard rc == 0 else {
            throw BPFError(.objectInfo, errno: currentErrno(rc), subject: "program fd \(fd)")
        }
        // Second call for the map ids: the first told how many there are.
        var mapIDs = [UInt32](repeating: 0, count: Int(info.nr_map_ids))
        if !mapIDs.isEmpty {
            let count = info.nr_map_ids
            var second = bpf_prog_info()
            var secondLength = UInt32(MemoryLayout<bpf_prog_info>.size)
            rc = mapIDs.withUnsafeMutableBufferPointer { buffer -> Int32 in
                second.nr_map_ids = count
                second.map_ids = UInt64(UInt(bitPattern: buffer.baseAddress))
                return bpf_obj_get_info_by_fd(fd, &second, &secondLength)
            }
            if rc != 0 {
                throw BPFError(.objectInfo, errno: currentErrno(rc), subject: "map ids of program fd \(fd)")
            }
            mapIDs = Array(mapIDs.prefix(Int(min(second.nr_map_ids, count))))
        }
        let tag = withUnsafeBytes(of: info.tag) { bytes in
            bytes.map { String(format: "%02x", $0) }.joined()
        }
        let name = withUnsafeBytes(of: info.name) { bytes -> String in
            let cut = bytes.prefix { $0 != 0 }
            return String(decoding: cut, as: UTF8.self)
        }
        let memlock = FDInfo.read(fd: fd)["memlock"].flatMap { UInt64($0) }
        return KernelProgramInfo(
            id: info.id, type: info.type, typeName: bpfProgramTypeName(info.type), name: name,
            tag: tag, uid: info.created_by_uid, loadTimeSinceBoot: info.load_time,
            loadedAt: bootDate().addingTimeInterval(Double(info.load_time) / 1e9),
            mapIDs: mapIDs, bytesMemlock: memlock, translatedBytes: info.xlated_prog_len,
            jitedBytes: info.jited_prog_len, verifiedInstructions: info.verified_insns,
            btfID: info.btf_id)
    }

    /// Wall-clock time of boot: now (CLOCK_REALTIME) minus time since boot (CLOCK_BOOTTIME).
    private static func bootDate() -> Date {
        var real = timespec()
        var boot = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_BOOTTIME, &boot)
        let seconds = Double(real.tv_sec - boot.tv_sec) + Double(real.tv_nsec - boot.tv_nsec) / 1e9
        return Date(timeIntervalSince1970: seconds)
    }
}

/// The kernel's map and link tables, by id (`bpftool map list`, `bpftool link list`): enough to
/// check that something left nothing behind.
public enum KernelObjectIDs {
    /// Every map id in the kernel.
    public static func maps() throws -> [UInt32] { try walk("map ids", bpf_map_get_next_id) }

    /// Every link id in the kernel.
    public static func links() throws -> [UInt32] { try walk("link ids", bpf_link_get_next_id) }

    static func walk(_ what: String, _ next: (UInt32, UnsafeMutablePointer<UInt32>?) -> Int32) throws -> [UInt32] {
        var result: [UInt32] = []
        var id: UInt32 = 0
        while true {
            var following: UInt32 = 0
            let rc = next(id, &following)
            if rc != 0 {
                let code = currentErrno(rc)
                if code == ENOENT { break }
                throw BPFError(.nextProgramID, errno: code, subject: "\(what) after \(id)")
            }
            result.append(following)
            id = following
        }
        return result
    }
}
