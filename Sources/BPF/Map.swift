import CBPF
import Foundation

/// A BPF map this process holds an fd of: from a loaded `BPFObject` (`map(named:)`) or from its
/// pin in bpffs (`BPFMap.open(pinned:)`). Keys and values are raw bytes; what they mean is the
/// caller's business (the native runtime reads them with its plan).
///
/// Per-CPU maps (`PERCPU_HASH`, `PERCPU_ARRAY`, `LRU_PERCPU_HASH`) hold one value per possible
/// CPU; `lookupPerCPU` returns them split, each slot `valueSize` bytes (the kernel lays slots
/// out every `valueSize` rounded up to 8 bytes).
public struct BPFMap: Sendable {
    /// This process's reference; the map lives while it (or a pin, or a program using it) does.
    public let fd: BPFFileDescriptor
    /// The map name as the kernel keeps it (at most 15 bytes).
    public let name: String
    /// Kernel map id (`bpftool map list`).
    public let id: UInt32
    /// `enum bpf_map_type` number.
    public let type: UInt32
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: Int

    /// Takes ownership of `rawFD` and reads the map's description from the kernel.
    init(owning rawFD: Int32, subject: String) throws {
        let fd = BPFFileDescriptor(owning: rawFD)
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        let rc = bpf_obj_get_info_by_fd(rawFD, &info, &length)
        guard rc == 0 else { throw BPFError(.objectInfo, errno: currentErrno(rc), subject: subject) }
        // A program or link fd also answers get_info; only a map has map_id in its fdinfo.
        guard FDInfo.read(fd: rawFD)["map_id"] != nil else {
            throw BPFError(.invalidArgument, errno: EINVAL, subject: "\(subject) is not a BPF map")
        }
        self.fd = fd
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        id = info.id
        type = info.type
        keySize = Int(info.key_size)
        valueSize = Int(info.value_size)
        maxEntries = Int(info.max_entries)
    }

    /// Opens the map pinned at `path`.
    ///
    /// - Throws: `BPFError` (.openPinned) if nothing is pinned there, (.invalidArgument) if the
    ///   pinned object is not a map.
    public static func open(pinned path: String) throws -> BPFMap {
        let raw = bpf_obj_get(path)
        guard raw >= 0 else { throw BPFError(.openPinned, errno: currentErrno(raw), subject: path) }
        return try BPFMap(owning: raw, subject: path)
    }

    /// Opens the map with this kernel id (`bpf_map_get_fd_by_id`).
    public static func open(id: UInt32) throws -> BPFMap {
        let raw = bpf_map_get_fd_by_id(id)
        guard raw >= 0 else { throw BPFError(.openPinned, errno: currentErrno(raw), subject: "map id \(id)") }
        return try BPFMap(owning: raw, subject: "map id \(id)")
    }

    /// The number of CPUs per-CPU maps keep a slot for (possible, not online, CPUs).
    public static let possibleCPUs: Int = max(1, Int(libbpf_num_possible_cpus()))

    /// True for the map types that keep one value per CPU.
    public var isPerCPU: Bool {
        [BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH,
         BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE].map(\.rawValue).contains(type)
    }

    /// Bytes between two CPUs' slots in a per-CPU value.
    var perCPUStride: Int { (valueSize + 7) / 8 * 8 }

    /// Locked kernel memory charged to the map (fdinfo "memlock", as bpftool shows it).
    public var memlockBytes: UInt64 {
        FDInfo.read(fd: fd.rawValue)["memlock"].flatMap { UInt64($0) } ?? 0
    }

    /// Pins the map at `path` (a bpffs file whose directory exists).
    public func pin(at path: String) throws {
        let rc = bpf_obj_pin(fd.rawValue, path)
        if rc != 0 { throw BPFError(.pinObject, errno: currentErrno(rc), subject: "map \(name) → \(path)") }
    }

    /// Every key, in the kernel's iteration order. Keys deleted meanwhile may restart a hash
    /// map's iteration; the walk stops after `maxEntries` keys, so it always ends.
    public func keys() throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        var previous: [UInt8]? = nil
        var next = [UInt8](repeating: 0, count: max(keySize, 1))
        while result.count < maxEntries {
            let rc: Int32 = next.withUnsafeMutableBytes { nextBytes in
                if let previous {
                    return previous.withUnsafeBytes { bpf_map_get_next_key(fd.rawValue, $0.baseAddress, nextBytes.baseAddress) }
                }
                return bpf_map_get_next_key(fd.rawValue, nil, nextBytes.baseAddress)
            }
            if rc != 0 {
                let code = currentErrno(rc)
                if code == ENOENT { break }
                throw BPFError(.mapAccess, errno: code, subject: "next key of map \(name)")
            }
            let key = Array(next.prefix(keySize))
            result.append(key)
            previous = key
        }
        return result
    }

    /// The value at `key` (for per-CPU maps, every CPU's slot back to back, each `valueSize`
    /// rounded up to 8 bytes), or nil if there is none.
    public func lookup(_ key: [UInt8]) throws -> [UInt8]? {
        let size = isPerCPU ? perCPUStride * Self.possibleCPUs : valueSize
        var value = [UInt8](repeating: 0, count: max(size, 1))
        let rc = key.withUnsafeBytes { keyBytes in
            value.withUnsafeMutableBytes { bpf_map_lookup_elem(fd.rawValue, keyBytes.baseAddress, $0.baseAddress) }
        }
        if rc != 0 {
            let code = currentErrno(rc)
            if code == ENOENT { return nil }
            throw BPFError(.mapAccess, errno: code, subject: "lookup in map \(name)")
        }
        return Array(value.prefix(size))
    }

    /// The value at `key` split per CPU (one element for a map that is not per-CPU), each
    /// `valueSize` bytes; nil if there is none.
    public func lookupPerCPU(_ key: [UInt8]) throws -> [[UInt8]]? {
        guard let raw = try lookup(key) else { return nil }
        guard isPerCPU else { return [raw] }
        return (0..<Self.possibleCPUs).map { cpu in
            Array(raw[(cpu * perCPUStride)..<(cpu * perCPUStride + valueSize)])
        }
    }

    /// Writes `value` at `key` (`BPF_ANY`). For a per-CPU map, `value` is one slot: every CPU
    /// gets it.
    public func update(_ key: [UInt8], _ value: [UInt8]) throws {
        var full = value
        if isPerCPU {
            var slot = value
            slot += [UInt8](repeating: 0, count: max(0, perCPUStride - slot.count))
            full = Array((0..<Self.possibleCPUs).map { _ in slot.prefix(perCPUStride) }.joined())
        }
        let rc = key.withUnsafeBytes { keyBytes in
            full.withUnsafeBytes { bpf_map_update_elem(fd.rawValue, keyBytes.baseAddress, $0.baseAddress, UInt64(BPF_ANY)) }
        }
        if rc != 0 { throw BPFError(.mapAccess, errno: currentErrno(rc), subject: "update in map \(name)") }
    }

    /// Deletes `key`; false if it was not there (arrays cannot delete: EINVAL is thrown).
    @discardableResult
    public func delete(_ key: [UInt8]) throws -> Bool {
        let rc = key.withUnsafeBytes { bpf_map_delete_elem(fd.rawValue, $0.baseAddress) }
        if rc != 0 {
            let code = currentErrno(rc)
            if code == ENOENT { return false }
            throw BPFError(.mapAccess, errno: code, subject: "delete in map \(name)")
        }
        return true
    }
}
