import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// Reads of kernel and user memory: the probe's context (`args`, `argN`, `retval`), struct
/// members through CO-RE, `*p`, and strings. Kernel memory is read with
/// `bpf_probe_read_kernel*`, user memory (the resolver's user-pointer facts, uprobe values)
/// with `bpf_probe_read_user*`.
extension FunctionEmitter {
    /// `user` nil: nothing says which memory the address is in (an integer, a pointer kept in a
    /// map): the compat helpers pick by address (user below TASK_SIZE on x86-64 and arm64,
    /// whose address spaces do not overlap).
    func readHelper(user: Bool?, string: Bool) -> String {
        guard let user else { return string ? "bpf_probe_read_str" : "bpf_probe_read" }
        return "bpf_probe_read_" + (user ? "user" : "kernel") + (string ? "_str" : "")
    }

    /// A value of C type `type` at `address` (a `__u64` expression).
    /// `path` is the C lvalue the address was taken of, when it is a member access: a record
    /// keeps it, so a chain `p->a.b.c` is one CO-RE access rooted at `p`'s named struct.
    func readMemory(address: String, type: CType, user: Bool, path: String? = nil) throws(NativeCompileError) -> CValue {
        switch type.resolved {
        case let .integer(i):
            let bits = max(8, i.bits)
            return try readScalar(address: address, kind: .integer(bits: bits, signed: i.signed), user: user)
        case let .enumeration(_, bits, signed):
            return try readScalar(address: address, kind: .integer(bits: bits, signed: signed), user: user)
        case let .pointer(pointee):
            let target = PointerTarget(cType: pointee.description, pointee: pointee, user: user)
            return try readScalar(address: address, kind: .pointer(target), user: user)
        case let .array(element, count):
            if Self.isTextCharacter(element) {
                let size = count == 0 ? 64 : count
                return readString(address: address, size: size, user: user)
            }
            guard case let .integer(i)? = Optional(element.resolved), count > 0 else {
                throw .unsupported(.init("reading an array of \(element)"))
            }
            let kind = ValueKind.array(elementBits: max(8, i.bits), signed: i.signed, count: count)
            let t = frameBuffer(kind.byteSize)
            return CValue(c: "({ \(cZero(t, kind.byteSize)) \(readHelper(user: user, string: false))(\(t), \(kind.byteSize), (const void *)(\(address))); \(t); })",
                          kind: kind)
        case let .record(ref):
            let spelling = try object.records.use(ref)
            return CValue(c: path ?? "(*(\(spelling) *)(\(address)))",
                          kind: .record(PointerTarget(cType: spelling, pointee: type, user: user)))
        default:
            throw .unsupported(.init("reading a value of type \(type)"))
        }
    }

    func readScalar(address: String, kind: ValueKind, user: Bool) throws(NativeCompileError) -> CValue {
        guard let type = kind.cScalarType else { throw .unsupported(.init("reading \(kind)")) }
        let v = fresh("_v")
        return CValue(c: "({ \(type) \(v) = 0; \(readHelper(user: user, string: false))(&\(v), sizeof(\(v)), (const void *)(\(address))); \(v); })",
                      kind: kind)
    }

    /// A NUL-terminated string of at most `size` bytes (the buffer zeroed first, so it is zero
    /// after the NUL as docs/semantics.md requires).
    func readString(address: String, size: Int, user: Bool?) -> CValue {
        let t = frameBuffer(size)
        return CValue(c: "({ \(cZero(t, size)) \(readHelper(user: user, string: true))(\(t), \(size), (const void *)(\(address))); \(t); })",
                      kind: .string(size: size))
    }

    /// `char[N]` is text; `unsigned char`/`__u8` arrays are bytes (addresses, hashes): read as
    /// they are, not stopped at the first zero byte, so `ntop(args->daddr)` sees all of them.
    static func isTextCharacter(_ element: CType) -> Bool {
        guard case let .integer(i) = element.resolved, i.bits == 8 else { return false }
        return i.name == "char" || i.name == "signed char"
    }

    func dereference(_ v: CValue, _ e: Expression) throws(NativeCompileError) -> CValue {
        guard case let .pointer(target) = v.kind, let pointee = target.pointee else {
            throw .unsupported(.init("dereference of \(v.kind)"))
        }
        return try readMemory(address: v.c, type: pointee, user: target.user)
    }

    // MARK: Members

    func fieldAccess(_ base: Expression, field: String, _ e: Expression) throws(NativeCompileError) -> CValue {
        if case .builtin("args") = base.kind { return try argument(named: field, e) }
        let b = try emit(base)
        switch b.kind {
        case let .tuple(kinds):
            guard let i = Int(field), i >= 0, i < kinds.count, let layout = RecordLayout(kinds) else {
                throw .unresolved("tuple has no element \(field)")
            }
            return element(of: b, layout: layout, index: i)
        case let .pointer(target), let .record(target):
            guard let pointee = target.pointee, case let .record(ref) = pointee.resolved else {
                throw .unsupported(.init("field \(field) of \(target.cType)"))
            }
            guard ref.btfID != nil, let btf = kernel.btf, let member = btf.member(named: field, of: ref) else {
                throw .unsupported(.init("field \(field) of \(ref.spelling) (a struct the program defines)"))
            }
            let spelling = try object.records.use(ref)
            try object.records.use(member, of: ref)
            let path: String
            if case .record = b.kind { path = "(\(b.c)).\(field)" } else { path = "((\(spelling) *)(\(b.c)))->\(field)" }
            return try readMemory(address: "((__u64)&\(path))", type: member.type, user: target.user, path: path)
        default:
            throw .unsupported(.init("field \(field) of \(b.kind)"))
        }
    }

    // MARK: The probe's context

    /// `args.NAME` / `args->NAME`.
    func argument(named name: String, _ e: Expression) throws(NativeCompileError) -> CValue {
        switch target.context {
        case let .tracepoint(format):
            guard let field = format.field(named: name) else {
                throw .unresolved("tracepoint \(format.category):\(format.name) has no field '\(name)'")
            }
            return try tracepointField(field)
        case let .arguments(function, _):
            guard let function, let i = function.parameters.firstIndex(where: { $0.name == name }) else {
                throw .unresolved("no argument '\(name)'")
            }
            return try contextSlot(i, type: function.parameters[i].type)
        default:
            throw .unsupported(.init("args in \(target.attachPoint)"))
        }
    }

    func tracepointField(_ field: TracepointField) throws(NativeCompileError) -> CValue {
        let member = "args->\(field.name)"
        if field.isDynamicArray {
            guard field.isString else { throw .unsupported(.init("dynamic array field \(field.name)")) }
            return readString(address: "((__u64)((char *)args + (\(member) & 0xffff)))", size: 64, user: false)
        }
        switch field.type.resolved {
        case let .array(element, count):
            if Self.isTextCharacter(element) { return readString(address: "((__u64)\(member))", size: max(1, count), user: false) }
            return try readMemory(address: "((__u64)\(member))", type: field.type, user: false)
        case let .pointer(pointee):
            let value = TracepointContexts.isDirectInteger(field) ? "((__u64)\(member))"
                : (try readScalar(address: "((__u64)\(member))", kind: .u64, user: false)).c
            return CValue(c: value,
                          kind: .pointer(PointerTarget(cType: pointee.description, pointee: pointee, user: field.isUserPointer)))
        default:
            guard [1, 2, 4, 8].contains(field.size) else { throw .unsupported(.init("field \(field.name) of \(field.size) bytes")) }
            let kind = ValueKind.integer(bits: field.size * 8, signed: field.isSigned)
            if TracepointContexts.isDirectInteger(field) { return CValue(c: member, kind: kind) }
            return try readScalar(address: "((__u64)\(member))", kind: kind, user: false)
        }
    }

    /// `ctx[i]` of raw_tp/fentry/fexit, as its C type.
    func contextSlot(_ i: Int, type: CType?) throws(NativeCompileError) -> CValue {
        let raw = "ctx[\(i)]"
        guard let type else { return CValue(c: "((__u64)\(raw))", kind: .u64) }
        switch type.resolved {
        case let .integer(int):
            let bits = max(8, int.bits)
            return CValue(c: "((\(ValueKind.cInteger(bits: bits, signed: int.signed)))\(raw))", kind: .integer(bits: bits, signed: int.signed))
        case let .enumeration(_, bits, signed):
            return CValue(c: "((\(ValueKind.cInteger(bits: bits, signed: signed)))\(raw))", kind: .integer(bits: bits, signed: signed))
        case let .pointer(pointee):
            return CValue(c: "((__u64)\(raw))", kind: .pointer(PointerTarget(cType: pointee.description, pointee: pointee, user: false)))
        default:
            throw .unsupported(.init("an argument of type \(type)"))
        }
    }

    /// Register slots of `struct pt_regs` (in `__u64`s) for argument `n`, and the return value.
    func registerSlot(argument n: Int?) throws(NativeCompileError) -> Int {
        switch object.architecture {
        case "x86_64":
            // r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ip cs flags sp ss
            let args = [14, 13, 12, 11, 9, 8]
            guard let n else { return 10 }
            guard n < args.count else { throw .unsupported(.init("arg\(n) (only 6 register arguments)")) }
            return args[n]
        case "aarch64":
            guard let n else { return 0 }
            guard n < 8 else { throw .unsupported(.init("arg\(n) (only 8 register arguments)")) }
            return n
        default:
            throw .unsupported(.init("registers on \(object.architecture)"))
        }
    }

    func argN(_ n: Int) throws(NativeCompileError) -> CValue {
        switch target.context {
        case let .arguments(function, _):
            return try contextSlot(n, type: function.flatMap { n < $0.parameters.count ? $0.parameters[n].type : nil })
        case .registers:
            return CValue(c: "((__u64)ctx[\(try registerSlot(argument: n))])", kind: .u64)
        default:
            throw .unsupported(.init("arg\(n) in \(target.attachPoint)"))
        }
    }

    func retval() throws(NativeCompileError) -> CValue {
        switch target.context {
        case let .arguments(function, true):
            guard let function else { throw .unsupported(.init("retval without the function's BTF")) }
            return try contextSlot(function.parameters.count, type: function.returnType)
        case .registers(true, _):
            return CValue(c: "((__u64)ctx[\(try registerSlot(argument: nil))])", kind: .u64)
        default:
            throw .unsupported(.init("retval in \(target.attachPoint)"))
        }
    }

    /// Whether plain integers used as pointers (`str(arg0)`) point into user memory.
    var defaultUserMemory: Bool {
        if case .registers(_, true) = target.context { return true }
        return false
    }
}
