import Foundation

/// Turns kernel addresses into symbol names (from /proc/kallsyms, read once and cached), uids
/// into user names, and address bytes into text, as bpftrace prints `kstack`, `ksym`,
/// `username` and `ntop`.
final class Symbolizer: @unchecked Sendable {
    static let shared = Symbolizer()

    init() {}

    private let lock = NSLock()
    /// Loaded on first use, kept compact (about 12 bytes per symbol plus the names' bytes:
    /// some 3 MB for a distribution kernel, once per agent, only if a script prints stacks or
    /// symbols).
    private var table: KallsymsTable?
    private var users: [UInt32: String] = [:]

    /// `ksym()`: the function name alone, or the address in hex when unknown.
    func kernelSymbol(_ address: UInt64) -> String {
        guard let found = lookup(address) else { return "0x" + String(address, radix: 16) }
        return found.name
    }

    func symbolWithOffset(_ address: UInt64) -> String {
        guard let found = lookup(address) else { return "0x" + String(address, radix: 16) }
        return "\(found.name)+\(address - found.address)"
    }

    private func lookup(_ address: UInt64) -> (address: UInt64, name: String)? {
        lock.withLock {
            if table == nil { table = KallsymsTable.read() }
            return table?.symbol(at: address)
        }
    }

    /// Every text symbol of /proc/kallsyms, sorted by address (for tests).
    static func readKallsyms() -> [(address: UInt64, name: String)] {
        let table = KallsymsTable.read()
        return (0..<table.addresses.count).map { (table.addresses[$0], table.name($0)) }
    }

    /// The user name of `uid` (getpwuid_r), or the number when there is none.
    func userName(_ uid: UInt32) -> String {
        if let known = lock.withLock({ users[uid] }) { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        var name = String(uid)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let raw = entry.pw_name {
            name = String(cString: raw)
        }
        lock.withLock { if users.count < 10_000 { users[uid] = name } }
        return name
    }

    /// `ntop()`: dotted quad for AF_INET (2), RFC 5952 text for AF_INET6 (10).
    static func inet(family: UInt64, address: [UInt8]) -> String {
        if family == 2 { return address.prefix(4).map(String.init).joined(separator: ".") }
        var text = [CChar](repeating: 0, count: 64)
        let ok = address.withUnsafeBytes { raw in inet_ntop(AF_INET6, raw.baseAddress, &text, 64) != nil }
        return ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}

/// /proc/kallsyms' text symbols in three flat arrays: sorted addresses, where each name starts,
/// and the names' bytes.
struct KallsymsTable {
    var addresses: [UInt64] = []
    var nameStarts: [UInt32] = []
    var names: [UInt8] = []

    func name(_ index: Int) -> String {
        let start = Int(nameStarts[index])
        let end = index + 1 < nameStarts.count ? Int(nameStarts[index + 1]) : names.count
        return String(decoding: names[start..<end], as: UTF8.self)
    }

    /// The last symbol at or below `address`.
    func symbol(at address: UInt64) -> (address: UInt64, name: String)? {
        guard let first = addresses.first, address >= first else { return nil }
        var low = 0, high = addresses.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if addresses[mid] <= address { low = mid } else { high = mid - 1 }
        }
        return (addresses[low], name(low))
    }

    static func read() -> KallsymsTable {
        // procfs reports size 0: read to the end rather than by the size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/kallsyms"), let data = try? handle.readToEnd() else {
            return KallsymsTable()
        }
        try? handle.close()
        var entries: [(UInt64, Range<Int>)] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var lineStart = 0
            let count = raw.count
            while lineStart < count {
                var end = lineStart
                while end < count, raw[end] != 0x0A { end += 1 }
                // "ffffffff81000000 T name\t[module]"
                var address: UInt64 = 0
                var i = lineStart
                while i < end, let digit = hexValue(raw[i]) { address = address << 4 | UInt64(digit); i += 1 }
                if i + 3 < end, address != 0 {
                    let kind = raw[i + 1]
                    if kind == UInt8(ascii: "t") || kind == UInt8(ascii: "T") || kind == UInt8(ascii: "w") || kind == UInt8(ascii: "W") {
                        var nameEnd = i + 3
                        while nameEnd < end, raw[nameEnd] != 0x09, raw[nameEnd] != 0x20 { nameEnd += 1 }
                        entries.append((address, (i + 3)..<nameEnd))
                    }
                }
                lineStart = end + 1
            }
        }
        entries.sort { $0.0 < $1.0 }
        var table = KallsymsTable()
        table.addresses.reserveCapacity(entries.count)
        table.nameStarts.reserveCapacity(entries.count)
        for (address, range) in entries {
            table.addresses.append(address)
            table.nameStarts.append(UInt32(table.names.count))
            table.names.append(contentsOf: data[range])
        }
        return table
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
