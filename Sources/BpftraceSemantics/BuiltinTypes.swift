import BpftraceSyntax

/// Types of bpftrace builtin variables and functions. Builtin variable types were read off
/// bpftrace 0.17's own type checker (`bpftrace -d`): the integer builtins are all `uint64`,
/// `comm` is `string[16]`, `curtask` is `struct task_struct *`.
enum BuiltinTypes {
    static let u64 = SemanticType.integer(bits: 64, signed: false)
    static let s64 = SemanticType.integer(bits: 64, signed: true)
    /// bpftrace's default `max_strlen`: the size of `str()` results.
    static let defaultStringLength = 64

    /// Builtins whose type does not depend on the probe (`args`, `argN`, `retval` do).
    static func variable(_ name: String) -> SemanticType? {
        switch name {
        case "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "rand", "cgroup",
             "cpid", "jiffies", "ncpus", "ppid", "__builtin_pid", "__builtin_tid":
            return u64
        case "comm": return .string(size: 16)
        case "kstack": return .stack(user: false)
        case "ustack": return .stack(user: true)
        case "func": return .symbol(user: false)
        case "probe", "probetype": return .string(size: nil)
        case "curtask": return .pointer(to: .record(name: "struct task_struct"))
        case "ctx": return .pointer(to: .none)
        case "username": return .username
        case "usermode": return .integer(bits: 8, signed: false)
        default:
            if name.hasPrefix("sarg") { return s64 }
            return nil
        }
    }

    /// Every function name Ken knows across bpftrace 0.17–0.26, for "did you mean".
    static let knownFunctions: Set<String> = {
        var names: Set<String> = [
            "str", "path", "buf", "ntop", "pton", "kstack", "ustack", "ksym", "usym", "kaddr", "uaddr",
            "reg", "cgroupid", "strncmp", "strcontains", "sizeof", "offsetof", "bswap", "percpu_kaddr",
            "len", "has_key", "strftime", "cgroup_path", "strerror", "macaddr", "printf", "print",
            "exit", "delete", "clear", "zero", "time", "join", "system", "cat", "signal", "override",
            "unwatch", "debugf", "errorf", "warnf", "uptr", "kptr", "skboutput", "socket_cookie",
        ]
        names.formUnion(MapAggregateKind.allCases.map(\.rawValue))
        names.formUnion(BpftraceNames.callableBuiltinVariables)
        return names
    }()

    /// Result type of builtin function `name` given its typed arguments; nil for functions
    /// Ken does not know (left `.unknown`, not an error: newer bpftrace adds functions).
    static func function(_ name: String, arguments: [SemanticType]) -> SemanticType? {
        if let aggregate = MapAggregateKind(rawValue: name) { return .mapAggregate(aggregate) }
        if let builtin = variable(name), arguments.isEmpty { return builtin }
        switch name {
        case "str", "path": return .string(size: nil)
        case "buf": return .buffer(size: nil)
        case "ntop": return .inet
        case "kstack": return .stack(user: false)
        case "ustack": return .stack(user: true)
        case "ksym", "kaddr": return name == "ksym" ? .symbol(user: false) : u64
        case "usym": return .symbol(user: true)
        case "uaddr", "reg", "cgroupid", "strncmp", "strcontains", "sizeof", "bswap", "pton", "percpu_kaddr":
            return name == "strcontains" ? u64 : u64
        case "len": return s64
        case "has_key": return .boolean
        case "strftime": return .timestamp
        case "cgroup_path": return .cgroupPath
        case "strerror": return .errorString
        case "macaddr": return .buffer(size: 6)
        case "printf", "print", "exit", "delete", "clear", "zero", "time", "join", "system", "cat",
             "signal", "override", "unwatch", "debugf", "errorf", "warnf":
            return SemanticType.none
        default:
            return nil
        }
    }
}
