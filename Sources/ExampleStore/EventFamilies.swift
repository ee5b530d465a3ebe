/// Event families: the names a task model uses for "what happens", shared by the program side
/// (probes) and the request side (words). Several probes observe one event (`sys_enter_openat`
/// and `sys_enter_open` are both an open; `sched_process_exec` and `sys_enter_execve` both an
/// exec), so both sides are reduced to the same family before they are compared.
public enum EventFamilies {
    /// The family of a syscall name (`openat` → `open`). Unlisted syscalls are their own family.
    public static func ofSyscall(_ name: String) -> String {
        syscallFamilies[name] ?? name
    }

    /// The family of a probe as written (`tracepoint:syscalls:sys_enter_openat`), nil for probes
    /// that are plumbing rather than events (BEGIN, END, interval).
    public static func ofProbe(kind: String, target: [String]) -> String? {
        switch kind {
        case "begin", "end", "interval": return nil
        case "profile": return "cpu-sample"
        default: break
        }
        guard let last = target.last else { return nil }
        if kind == "tracepoint", target.count == 2 {
            let (category, event) = (target[0], target[1])
            if category == "syscalls" {
                for prefix in ["sys_enter_", "sys_exit_"] where event.hasPrefix(prefix) {
                    return ofSyscall(String(event.dropFirst(prefix.count)))
                }
            }
            if category == "raw_syscalls" { return "syscall" }
            if let family = tracepointFamilies[category + ":" + event] { return family }
            if category == "block" { return "block-request" }
            return event
        }
        if kind == "uprobe" || kind == "uretprobe" { return last == "readline" ? "bash-readline" : last }
        return kernelFunctionFamilies[last] ?? last
    }

    static let syscallFamilies: [String: String] = {
        var table: [String: String] = [:]
        let groups: [String: [String]] = [
            "open": ["open", "openat", "openat2", "creat"],
            "exec": ["execve", "execveat"],
            "exit": ["exit", "exit_group"],
            "fork": ["fork", "vfork", "clone", "clone3"],
            "unlink": ["unlink", "unlinkat"],
            "rename": ["rename", "renameat", "renameat2"],
            "mkdir": ["mkdir", "mkdirat"],
            "chmod": ["chmod", "fchmod", "fchmodat", "fchmodat2"],
            "chown": ["chown", "fchown", "lchown", "fchownat"],
            "stat": ["stat", "lstat", "fstat", "newstat", "newlstat", "newfstat", "newfstatat", "statx"],
            "read": ["read", "pread64", "readv", "preadv"],
            "write": ["write", "pwrite64", "writev", "pwritev"],
            "signal-send": ["kill", "tkill", "tgkill"],
            "symlink": ["symlink", "symlinkat"],
            "link": ["link", "linkat"],
            "setuid": ["setuid", "setresuid", "setreuid"],
            "setgid": ["setgid", "setresgid", "setregid"],
            "fsync": ["fsync", "fdatasync"],
            "namespace": ["unshare", "setns"],
            "sleep": ["nanosleep", "clock_nanosleep"],
            "wait": ["wait4", "waitid"],
            "mount": ["mount"],
        ]
        for (family, names) in groups { for name in names { table[name] = family } }
        return table
    }()

    static let tracepointFamilies: [String: String] = [
        "sched:sched_process_exec": "exec", "sched:sched_process_fork": "fork",
        "sched:sched_process_exit": "exit", "sched:sched_switch": "context-switch",
        "sched:sched_wakeup": "wakeup", "sched:sched_wakeup_new": "wakeup",
        "sched:sched_migrate_task": "migrate", "signal:signal_generate": "signal-send",
        "signal:signal_deliver": "signal-deliver",
        "block:block_bio_queue": "block-bio-queue",
        "sock:inet_sock_set_state": "tcp-state", "tcp:tcp_retransmit_skb": "tcp-retransmit",
        "tcp:tcp_send_reset": "tcp-reset", "skb:kfree_skb": "packet-drop",
        "net:netif_receive_skb": "packet-receive", "net:net_dev_xmit": "packet-transmit",
        "udp:udp_fail_queue_rcv_skb": "udp-queue-fail", "oom:mark_victim": "oom",
        "task:task_rename": "comm-change", "filemap:mm_filemap_add_to_page_cache": "page-cache-add",
        "kmem:kmalloc": "kmalloc", "kmem:mm_page_alloc": "page-alloc",
        "exceptions:page_fault_user": "page-fault",
        "vmscan:mm_vmscan_direct_reclaim_begin": "direct-reclaim",
        "vmscan:mm_vmscan_direct_reclaim_end": "direct-reclaim",
        "cgroup:cgroup_mkdir": "cgroup-create", "irq:irq_handler_entry": "irq",
        "timer:hrtimer_expire_entry": "hrtimer", "capability:cap_capable": "capability",
        "writeback:writeback_dirty_inode_start": "writeback",
    ]

    static let kernelFunctionFamilies: [String: String] = [
        "vfs_read": "read", "vfs_write": "write", "tcp_connect": "tcp-connect",
    ]
}
