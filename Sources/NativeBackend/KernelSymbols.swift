import Foundation

/// Kernel symbol addresses for `kaddr()`, from /proc/kallsyms (the agent generates as root;
/// other users see zeros there, and then the program is not compiled natively).
enum KernelSymbols {
    static func address(of symbol: String, kallsyms: String = "/proc/kallsyms") -> UInt64? {
        guard let data = FileManager.default.contents(atPath: kallsyms) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard fields.count >= 3, fields[2] == symbol, let value = UInt64(fields[0], radix: 16), value != 0 else { continue }
            return value
        }
        return nil
    }
}
