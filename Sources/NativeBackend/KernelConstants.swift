/// Macros from kernel headers that bpftrace tools use without defining (bpftrace gets them
/// from the headers it includes; Ken has none): their values are kernel ABI.
enum KernelConstants {
    static let values: [String: Int64] = [
        "AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17,
        "TASK_RUNNING": 0, "TASK_INTERRUPTIBLE": 1, "TASK_UNINTERRUPTIBLE": 2,
        "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_CREAT": 0o100, "O_TRUNC": 0o1000, "O_APPEND": 0o2000,
        "IPPROTO_TCP": 6, "IPPROTO_UDP": 17,
    ]

    static func value(_ name: String) -> Int64? { values[name] }
}
