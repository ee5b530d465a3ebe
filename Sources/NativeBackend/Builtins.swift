import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// Builtin variables and functions.
extension FunctionEmitter {
    /// The program's context pointer, as `bpf_get_stack` wants it.
    var contextName: String {
        if case .tracepoint = target.context { return "args" }
        return "ctx"
    }

    /// bpftrace's default kernel stack depth.
    static let kernelStackDepth = 127

    func builtin(_ name: String, _ e: Expression) throws(NativeCompileError) -> CValue {
        switch name {
        case "pid", "__builtin_pid": return CValue(c: "((__u64)(bpf_get_current_pid_tgid() >> 32))", kind: .u64)
        case "tid", "__builtin_tid": return CValue(c: "((__u64)(__u32)bpf_get_current_pid_tgid())", kind: .u64)
        case "uid": return CValue(c: "((__u64)(__u32)bpf_get_current_uid_gid())", kind: .u64)
        case "gid": return CValue(c: "((__u64)(bpf_get_current_uid_gid() >> 32))", kind: .u64)
        case "cpu": return CValue(c: "((__u64)bpf_get_smp_processor_id())", kind: .u64)
        case "nsecs": return CValue(c: "bpf_ktime_get_ns()", kind: .u64)
        case "elapsed":
            object.usesElapsed = true
            return CValue(c: "ken_elapsed()", kind: .u64)
        case "jiffies": return CValue(c: "bpf_jiffies64()", kind: .u64)
        case "cgroup": return CValue(c: "bpf_get_current_cgroup_id()", kind: .u64)
        case "numaid": return CValue(c: "((__u64)bpf_get_numa_node_id())", kind: .u64)
        case "rand": return CValue(c: "((__u64)bpf_get_prandom_u32())", kind: .u64)
        case "comm":
            let t = frameBuffer(16)
            return CValue(c: "({ \(cZero(t, 16)) bpf_get_current_comm(\(t), 16); \(t); })", kind: .string(size: 16))
        case "curtask":
            let task = kernel.btf?.type(named: "struct task_struct")
            return CValue(c: "bpf_get_current_task()",
                          kind: .pointer(PointerTarget(cType: "struct task_struct", pointee: task, user: false)))
        case "ppid":
            // The parent's process id: curtask->real_parent->tgid, through CO-RE.
            let task = Expression(.builtin("curtask"))
            let parent = Expression(.fieldAccess(task, field: "real_parent", arrow: true))
            let tgid = try emit(Expression(.fieldAccess(parent, field: "tgid", arrow: true)))
            return CValue(c: "((__u64)\(try widened(tgid)))", kind: .u64)
        case "username":
            return CValue(c: "((__u64)(__u32)bpf_get_current_uid_gid())", kind: .username)
        case "kstack":
            return kernelStack(depth: Self.kernelStackDepth)
        case "retval":
            return try retval()
        case "args":
            return CValue(c: "0", kind: .args)
        case "probe":
            return CValue(c: CLiteral.string(target.probeName), kind: .string(size: target.probeName.utf8.count + 1))
        case "func":
            switch target.context {
            case .arguments, .registers:
                return CValue(c: CLiteral.string(target.shortName), kind: .string(size: target.shortName.utf8.count + 1))
            default: throw .unsupported(.init("func in \(target.attachPoint)"))
            }
        default:
            if name.hasPrefix("arg"), let n = Int(name.dropFirst(3)) { return try argN(n) }
            throw .unsupported(.init("builtin \(name)"))
        }
    }

    func kernelStack(depth: Int) -> CValue {
        let bytes = depth * 8
        let t = frameBuffer(bytes)
        return CValue(c: "({ bpf_get_stack(\(contextName), \(t), \(bytes), 0); \(t); })",
                      kind: .kernelStack(depth: depth))
    }

    // MARK: Functions

    func call(_ name: String, _ arguments: [Expression], _ e: Expression) throws(NativeCompileError) -> CValue {
        if arguments.isEmpty, BpftraceNames.callableBuiltinVariables.contains(name), name != "kstack" {
            return try builtin(name, e)
        }
        switch name {
        case "printf": return try printf(arguments)
        case "print": return try print(arguments)
        case "clear", "zero":
            guard arguments.count == 1, case let .map(map, keys) = arguments[0].kind, keys.isEmpty else {
                throw .unresolved("\(name)() takes one map")
            }
            _ = object.maps.entry(map)
            return try event(name == "clear" ? .clear(map: map) : .zero(map: map), values: [])
        case "time":
            var format: String?
            if let first = arguments.first {
                guard case let .string(text) = first.kind else { throw .unsupported(.init("time() with a non-literal format")) }
                format = text
            }
            return try event(.time(format: format), values: [])
        case "exit":
            let emitted = try event(.exit, values: [])
            return CValue(c: "({ \(emitted.c); return 0; })", kind: .none, statements: (emitted.statements ?? [emitted.c + ";"]) + ["return 0;"])
        case "signal":
            return try signal(arguments)
        case "delete":
            return try delete(arguments)
        case "str":
            return try str(arguments, e)
        case "strncmp":
            guard arguments.count == 3 else { throw .unresolved("strncmp() takes three arguments") }
            let a = try emit(arguments[0]), b = try emit(arguments[1])
            guard case let .string(sa) = a.kind, case let .string(sb) = b.kind,
                  case let .integer(literal) = arguments[2].kind, let n = literal.value else {
                throw .unsupported(.init("strncmp() other than on two strings with a constant length"))
            }
            let bound = min(Int(n), max(sa, sb))
            return CValue(c: "ken_strncmp(\(a.c), \(sa), \(b.c), \(sb), \(bound))", kind: .u64)
        case "ntop":
            return try ntop(arguments)
        case "join":
            return try join(arguments)
        case "has_key":
            guard let first = arguments.first, case let .map(map, keys) = first.kind else {
                throw .unresolved("has_key() takes a map and a key")
            }
            let entry = object.maps.entry(map)
            let (code, k) = try key(map, keys + arguments.dropFirst())
            return CValue(c: "({ \(code) (__u8)(bpf_map_lookup_elem(&\(entry.bpfName), \(k)) != 0); })", kind: .boolean)
        case "kaddr":
            guard arguments.count == 1, case let .string(symbol) = arguments[0].kind else {
                throw .unresolved("kaddr() takes a symbol name")
            }
            guard let address = KernelSymbols.address(of: symbol) else {
                throw .unsupported(.init("kaddr(\"\(symbol)\") (no address in /proc/kallsyms)"))
            }
            return CValue(c: "((__u64)\(address)ULL)", kind: .u64)
        case "ksym":
            guard arguments.count == 1 else { throw .unresolved("ksym() takes one argument") }
            let v = try emit(arguments[0])
            return CValue(c: try widened(v), kind: .kernelSymbol)
        case "kstack":
            var depth = Self.kernelStackDepth
            for argument in arguments {
                if case let .integer(literal) = argument.kind, let v = literal.value { depth = Int(min(v, 127)) }
                else if case .identifier = argument.kind { continue }
                else { throw .unsupported(.init("kstack() with these arguments")) }
            }
            return kernelStack(depth: max(1, depth))
        case "bswap", "ntohs", "htons", "ntohl", "htonl":
            guard arguments.count == 1 else { throw .unresolved("\(name)() takes one argument") }
            let v = try emit(arguments[0])
            guard let shape = v.kind.integerShape else { throw .unsupported(.init("\(name)() of \(v.kind)")) }
            let bits = name == "bswap" ? shape.bits : (name.hasSuffix("s") ? 16 : 32)
            let type = ValueKind.cInteger(bits: bits, signed: name == "bswap" ? shape.signed : false)
            if bits == 8 { return CValue(c: "((\(type))(\(v.c)))", kind: .integer(bits: 8, signed: shape.signed)) }
            return CValue(c: "((\(type))__builtin_bswap\(bits)((__u\(bits))(\(v.c))))",
                          kind: .integer(bits: bits, signed: name == "bswap" ? shape.signed : false))
        default:
            if MapAggregateKind(rawValue: name) != nil {
                throw .unsupported(.init("\(name)() outside an assignment to a map"))
            }
            throw .unsupported(.init("\(name)()"))
        }
    }

    func str(_ arguments: [Expression], _ e: Expression) throws(NativeCompileError) -> CValue {
        guard let first = arguments.first, arguments.count <= 2 else { throw .unresolved("str() takes one or two arguments") }
        var size = 64
        if arguments.count == 2 {
            if case let .integer(literal) = arguments[1].kind, let n = literal.value, n >= 1, n <= 1024 {
                // bpftrace 0.17 keeps n characters (docs/semantics.md): n bytes and the NUL.
                size = Int(n) + 1
            } else {
                // A run-time length: read at most that many bytes (NUL included) into 64.
                let v = try emit(first)
                let n = try widened(emit(arguments[1]))
                let limit = fresh("_n")
                let user = memorySpace(of: first, v)
                guard v.kind.isScalar else { throw .unsupported(.init("str() of \(v.kind) with a length")) }
                let t = frameBuffer(size)
                return CValue(c: "({ \(cZero(t, size)) __u32 \(limit) = \(n) < \(size) ? (__u32)\(n) + 1 : \(size); \(readHelper(user: user, string: true))(\(t), \(limit), (const void *)\(try widened(v))); \(t); })",
                              kind: .string(size: size))
            }
        }
        var v = try emit(first)
        if let text = byteArrayAsString(v) { v = text }
        switch v.kind {
        case let .string(from):
            // Already a string (a char array field): str() copies it, truncated to `size`.
            let t = frameBuffer(size)
            return CValue(c: "({ \(try store(v, into: t, as: .string(size: min(size, from)))) \(t); })", kind: .string(size: min(size, from)))
        case let .pointer(target):
            let user = target.user || resolved.kernelValue(of: first)?.isUserPointer == true
            return readString(address: v.c, size: size, user: user)
        case .integer, .kernelSymbol:
            return readString(address: try widened(v), size: size, user: memorySpace(of: first, v))
        default:
            throw .unsupported(.init("str() of \(v.kind)"))
        }
    }

    /// `join(array[, delimiter])`: the user-space strings of a NULL-terminated `char *[]`
    /// joined in the frame (at most 16 of at most 64 bytes, as bpftrace reads them), then
    /// sent as a `join` event: bpftrace 0.17 prints it as its own `join` line, no newline.
    func join(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard let first = arguments.first, arguments.count <= 2 else { throw .unresolved("join() takes an array and a delimiter") }
        var delimiter = " "
        if arguments.count == 2 {
            guard case let .string(text) = arguments[1].kind, text.utf8.count == 1 else {
                throw .unsupported(.init("join() with a delimiter other than one character"))
            }
            delimiter = text
        }
        let array = try emit(first)
        guard array.kind.isScalar else { throw .unsupported(.init("join() of \(array.kind)")) }
        let user = memorySpace(of: first, array)
        let (size, parts, part) = (1024, 16, 64)
        let t = frameBuffer(size)
        let (i, off, p, n, base) = (fresh("_i"), fresh("_off"), fresh("_ptr"), fresh("_len"), fresh("_arr"))
        let delimiterByte = Int(delimiter.utf8.first!)
        let loop = """
        ({ \(cZero(t, size)) __u64 \(base) = \(try widened(array)); __u32 \(off) = 0;         for (__u32 \(i) = 0; \(i) < \(parts); \(i)++) { __u64 \(p) = 0;         \(readHelper(user: user, string: false))(&\(p), 8, (const void *)(\(base) + 8 * \(i))); if (!\(p)) break;         if (\(i) > 0) { if (\(off) >= \(size - part - 1)) break; \(t)[\(off)] = \(delimiterByte); \(off)++; }         if (\(off) > \(size - part - 1)) break;         long \(n) = \(readHelper(user: user, string: true))(\(t) + \(off), \(part), (const void *)\(p));         if (\(n) <= 1) continue; \(off) += (__u32)(\(n) - 1); } \(t); })
        """
        let placeholder = NativeField(offset: 8, type: .string(size: size))  // replaced by the laid-out field
        return try event(.join(placeholder), values: [CValue(c: loop, kind: .string(size: size))])
    }

    /// Which memory an address used by `str()`/`join()` points into: user memory when the
    /// resolver says so or in uprobes, kernel memory for kernel pointers, else unknown (nil).
    func memorySpace(of expression: Expression, _ value: CValue) -> Bool? {
        if resolved.kernelValue(of: expression)?.isUserPointer == true || defaultUserMemory { return true }
        if case let .pointer(target) = value.kind { return target.user }
        return nil
    }

    func ntop(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard arguments.count == 1 || arguments.count == 2 else { throw .unresolved("ntop() takes one or two arguments") }
        let address = try emit(arguments[arguments.count - 1])
        var family: String?
        if arguments.count == 2 { family = try widened(emit(arguments[0])) }
        let t = frameBuffer(24)
        var parts = [cZero(t, 24)]
        var bytes = 0
        switch address.kind {
        case let .array(bits, _, count): bytes = bits * count / 8
        case let .string(size): bytes = size  // `__u8 daddr[4]` reads as a char array
        default: break
        }
        switch address.kind {
        case .array, .string:
            guard bytes == 4 || bytes == 16 else { throw .unsupported(.init("ntop() of \(address.kind)")) }
            parts.append("*(__u64 *)\(t) = \(family ?? (bytes == 4 ? "2" : "10"));")
            parts.append(cCopy("\(t) + 8", address.c, bytes))
        case .integer, .pointer:
            // An IPv4 address held in an integer, in network order as the kernel keeps it.
            parts.append("*(__u64 *)\(t) = \(family ?? "2");")
            parts.append("*(__u32 *)(\(t) + 8) = (__u32)(\(address.c));")
        default:
            throw .unsupported(.init("ntop() of \(address.kind)"))
        }
        return CValue(c: "({ \(parts.joined(separator: " ")) \(t); })", kind: .inet)
    }

    func signal(_ arguments: [Expression]) throws(NativeCompileError) -> CValue {
        guard arguments.count == 1 else { throw .unresolved("signal() takes one argument") }
        if case let .string(name) = arguments[0].kind {
            guard let number = Signals.number(name) else { throw .unresolved("unknown signal \(name)") }
            return CValue(c: "((void)bpf_send_signal(\(number)))", kind: .none)
        }
        let v = try emit(arguments[0])
        return CValue(c: "((void)bpf_send_signal((__u32)\(try widened(v))))", kind: .none)
    }
}

/// Signal names bpftrace accepts (`SIGKILL`, `KILL`) and their Linux numbers.
enum Signals {
    static let numbers: [String: Int] = [
        "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
        "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
        "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19,
        "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25,
        "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
    ]

    static func number(_ name: String) -> Int? {
        let upper = name.uppercased()
        return numbers[upper] ?? numbers["SIG" + upper]
    }
}
