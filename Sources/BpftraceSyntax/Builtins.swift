/// Names bpftrace treats specially. Kept in one place so parser, printer and lowering agree.
public enum BpftraceNames {
    /// Builtin variables (used without parentheses). `argN`/`sargN` are matched by pattern.
    public static let builtinVariables: Set<String> = [
        "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "comm", "kstack", "ustack",
        "retval", "func", "probe", "curtask", "rand", "cgroup", "cpid", "ctx", "args", "username",
        "jiffies", "usermode", "ncpus", "probetype", "ppid", "__builtin_pid", "__builtin_tid",
    ]

    /// Builtins that 0.24+ also accepts in call form (`comm()`); lowering turns the empty
    /// call back into the variable for older targets.
    public static let callableBuiltinVariables: Set<String> = [
        "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "comm", "kstack", "ustack",
        "retval", "func", "probe", "curtask", "rand", "cgroup", "cpid", "username", "jiffies",
        "usermode", "ncpus",
    ]

    /// Integer and other scalar type names usable in casts and `let` declarations.
    public static let scalarTypeNames: Set<String> = [
        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64",
        "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "bool", "string", "inet", "buffer", "usym", "ksym", "timestamp", "macaddr",
    ]

    /// Map aggregation functions (`@x = count()`).
    public static let mapFunctions: Set<String> = Set(MapAggregateKind.allCases.map(\.rawValue))

    public static func isBuiltinVariable(_ name: String) -> Bool {
        if builtinVariables.contains(name) { return true }
        for prefix in ["arg", "sarg"] where name.hasPrefix(prefix) {
            let rest = name.utf8.dropFirst(prefix.utf8.count)
            if !rest.isEmpty && rest.allSatisfy(ByteClass.isDigit) { return true }
        }
        return false
    }

    /// Bit width and signedness of an integer type name, if it is one.
    public static func integerType(_ name: String) -> (bits: Int, signed: Bool)? {
        switch name {
        case "u8", "uint8": return (8, false)
        case "u16", "uint16": return (16, false)
        case "u32", "uint32": return (32, false)
        case "u64", "uint64": return (64, false)
        case "i8", "int8": return (8, true)
        case "i16", "int16": return (16, true)
        case "i32", "int32": return (32, true)
        case "i64", "int64": return (64, true)
        default: return nil
        }
    }
}
