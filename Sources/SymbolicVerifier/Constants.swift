import BpftraceSyntax

/// Named integer constants a program may use without defining them in bpftrace itself: its own
/// `#define NAME VALUE` lines and a few stable kernel ABI constants that tools take from headers
/// (BTF enumerators are substituted earlier, by `VerificationFrontEnd`).
enum NamedConstants {
    /// Values fixed by the Linux ABI (socket families, protocols, task states).
    static let abi: [String: Int64] = [
        "AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16,
        "AF_PACKET": 17,
        "IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_ICMPV6": 58,
        "TASK_RUNNING": 0, "TASK_INTERRUPTIBLE": 1, "TASK_UNINTERRUPTIBLE": 2,
        "SIGKILL": 9, "SIGTERM": 15, "SIGINT": 2, "SIGSTOP": 19,
        "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_CREAT": 0o100, "O_TRUNC": 0o1000,
        "O_APPEND": 0o2000,
    ]

    /// `#define NAME <integer>` lines of the program's preamble.
    static func defines(in program: Program) -> [String: Int64] {
        var found: [String: Int64] = [:]
        for item in program.preamble where item.kind == .define {
            let words = item.text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 3, let name = item.name, words[1] == Substring(name),
                  let value = integer(String(words[2])) else { continue }
            found[name] = value
        }
        return found
    }

    private static func integer(_ text: String) -> Int64? {
        var body = text
        while body.hasPrefix("("), body.hasSuffix(")") { body = String(body.dropFirst().dropLast()) }
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body.removeFirst()
        }
        while let last = body.last, "uUlL".contains(last) { body.removeLast() }
        let value: Int64?
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            value = Int64(body.dropFirst(2), radix: 16)
        } else if body.count > 1, body.hasPrefix("0") {
            value = Int64(body.dropFirst(), radix: 8)
        } else {
            value = Int64(body)
        }
        guard let value else { return nil }
        return negative ? -value : value
    }
}
