import Foundation

/// Turns kernel addresses into symbol names (from /proc/kallsyms, read once and cached), uids
/// into user names, and address bytes into text, as bpftrace prints `kstack`, `ksym`,
/// `username` and `ntop`.
final class Symbolizer: @unchecked Sendable {
    static let shared = Symbolizer()

    private let lock = NSLock()
    /// Sorted by address; loaded on first use (about 10 MB of text is read once; only the text
    /// symbols' addresses and names are kept).
    private var symbols: [(address: UInt64, name: String)]?
    private var users: [UInt32: String] = [:]

    /// `"\n        sym+off\n        sym+off\n"`: bpftrace's kstack text (each frame on its own
    /// line indented by 8 spaces, ending with a newline).
    func kernelStack(_ frames: [UInt64]) -> String {
        var text = "\n"
        for ip in frames { text += "        " + symbolWithOffset(ip) + "\n" }
        return text
    }

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
            if symbols == nil { symbols = Symbolizer.readKallsyms() }
            guard let table = symbols, !table.isEmpty else { return nil }
            // Last symbol at or below the address.
            var low = 0, high = table.count - 1
            if address < table[0].address { return nil }
            while low < high {
                let mid = (low + high + 1) / 2
                if table[mid].address <= address { low = mid } else { high = mid - 1 }
            }
            return table[low]
        }
    }

    static func readKallsyms() -> [(address: UInt64, name: String)] {
        guard let data = FileManager.default.contents(atPath: "/proc/kallsyms") else { return [] }
        var table: [(address: UInt64, name: String)] = []
        table.reserveCapacity(200_000)
        for line in data.split(separator: 0x0A) {
            let parts = line.split(separator: 0x20, maxSplits: 3)
            guard parts.count >= 3, let address = UInt64(String(decoding: parts[0], as: UTF8.self), radix: 16),
                  address != 0 else { continue }
            let kind = parts[1].first ?? 0
            // Text symbols (t/T) and BPF programs' (also t); skip data symbols.
            guard kind == UInt8(ascii: "t") || kind == UInt8(ascii: "T") || kind == UInt8(ascii: "W") || kind == UInt8(ascii: "w") else { continue }
            var name = parts[2]
            if let tab = name.firstIndex(of: 0x09) { name = name[..<tab] }
            table.append((address, String(decoding: name, as: UTF8.self)))
        }
        table.sort { $0.address < $1.address }
        return table
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
