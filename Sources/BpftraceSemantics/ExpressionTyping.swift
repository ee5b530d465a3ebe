import BpftraceSyntax
import KernelInfo

extension ResolutionPass {
    /// Types `e` and its children; returns the rebuilt node (with `type` set) and its type.
    func expression(_ e: Expression) -> (Expression, Typed) {
        var out = e
        let typed = type(of: e, rebuilding: &out)
        out.type = typed.type
        if let k = typed.kernel { kernelValues[e.range] = k }
        return (out, typed)
    }

    private func type(of e: Expression, rebuilding out: inout Expression) -> Typed {
        switch e.kind {
        case .integer:
            return Typed(type: BuiltinTypes.s64, kernel: nil)
        case let .string(s):
            return Typed(type: .string(size: s.utf8.count + 1), kernel: nil)
        case .boolean:
            return Typed(type: .boolean, kernel: nil)
        case let .variable(name):
            if let known = variables[name] { return known }
            let close = SuggestionIndex(variables.keys).suggestions(for: name, limit: 1)
            error("use of undefined variable '$\(name)'", at: e.range,
                  hint: close.first.map { "did you mean '$\($0)'?" } ?? "assign it before this use")
            return .unknown
        case let .map(name, keys):
            out.kind = .map(name: name, keys: keys.map { expression($0).0 })
            if let known = maps[name] { return known }
            error("map '@\(name)' is read but never assigned", at: e.range)
            return .unknown
        case .positional:
            return Typed(type: BuiltinTypes.s64, kernel: nil)
        case .positionalCount:
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case let .builtin(name):
            return builtin(name, range: e.range)
        case let .identifier(name):
            if kernel.btf?.enumerator(name) != nil || preambleMacros.contains(name) {
                return Typed(type: BuiltinTypes.s64, kernel: nil)
            }
            // A macro from an `#include`d header (AF_INET, TASK_RUNNING, …) cannot be checked
            // without running the C preprocessor over kernel headers: accept it, untyped.
            if let btf = kernel.btf, !hasIncludes {
                let close = btf.suggestEnumerators(for: name, limit: 2)
                error("unknown identifier '\(name)'", at: e.range,
                      hint: close.isEmpty ? "it is neither a kernel enum constant nor #defined in this program"
                          : "did you mean " + close.map { "'\($0)'" }.joined(separator: " or ") + "?")
            }
            return .unknown
        case let .call(name, arguments):
            let typedArgs = arguments.map { expression($0) }
            out.kind = .call(name: name, arguments: typedArgs.map(\.0))
            // bpftrace sizes str() by its literal length argument, else by the default
            // max_strlen of 64; buf() by its literal length.
            if name == "str" || name == "buf" {
                var size: Int? = name == "str" ? BuiltinTypes.defaultStringLength : nil
                if arguments.count >= 2, case let .integer(literal) = arguments[1].kind, let v = literal.value, v <= 1 << 20 {
                    size = Int(v)
                }
                return Typed(type: name == "str" ? .string(size: size) : .buffer(size: size), kernel: nil)
            }
            if let builtin = BuiltinTypes.function(name, arguments: typedArgs.map(\.1.type)) {
                return Typed(type: builtin, kernel: nil)
            }
            if !BuiltinTypes.knownFunctions.contains(name) {
                // A warning, not an error: newer bpftrace releases add functions Ken may not list.
                let close = SuggestionIndex(BuiltinTypes.knownFunctions).suggestions(for: name, limit: 2)
                diagnostics.append(.warning("unknown function '\(name)'", at: e.range,
                    hint: close.isEmpty ? nil : "did you mean " + close.map { "'\($0)'" }.joined(separator: " or ") + "?"))
            }
            return .unknown
        case let .unary(op, operand):
            let (o, ot) = expression(operand)
            out.kind = .unary(op, o)
            return unary(op, ot)
        case let .incrementDecrement(op, prefix, operand):
            if case let .map(name, _) = operand.kind, maps[name] == nil {
                maps[name] = Typed(type: BuiltinTypes.s64, kernel: nil)
            }
            let (o, ot) = expression(operand)
            out.kind = .incrementDecrement(op, prefix: prefix, o)
            return Typed(type: ot.type, kernel: nil)
        case let .binary(op, lhs, rhs):
            let (l, lt) = expression(lhs)
            let (r, rt) = expression(rhs)
            out.kind = .binary(op, l, r)
            return binary(op, lt, rt)
        case let .ternary(condition, then, otherwise):
            let (c, _) = expression(condition)
            let (t, tt) = expression(then)
            let (o, _) = expression(otherwise)
            out.kind = .ternary(condition: c, then: t, else: o)
            return Typed(type: tt.type, kernel: nil)
        case let .cast(typeName, operand):
            let (o, _) = expression(operand)
            out.kind = .cast(typeName, o)
            return typeFromName(typeName, range: e.range)
        case let .fieldAccess(base, field, arrow):
            if case .builtin("args") = base.kind {
                var b = base
                b.type = builtin("args", range: base.range).type
                guard context.argsAvailable else {
                    out.kind = .fieldAccess(b, field: field, arrow: arrow)
                    return .unknown
                }
                out.kind = .fieldAccess(b, field: field, arrow: arrow)
                return argsField(field, access: e)
            }
            let (b, bt) = expression(base)
            out.kind = .fieldAccess(b, field: field, arrow: arrow)
            return member(field, of: bt, access: e)
        case let .index(base, index):
            let (b, bt) = expression(base)
            let (i, _) = expression(index)
            out.kind = .index(b, i)
            return element(of: bt)
        case let .tuple(elements):
            let typed = elements.map { expression($0) }
            out.kind = .tuple(typed.map(\.0))
            return Typed(type: .tuple(typed.map(\.1.type)), kernel: nil)
        case let .sizeof(operand):
            switch operand {
            case let .type(typeName): _ = typeFromName(typeName, range: e.range)
            case let .expression(inner): out.kind = .sizeof(.expression(expression(inner).0))
            }
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case let .offsetof(operand, fields):
            var current: Typed
            switch operand {
            case let .type(typeName): current = typeFromName(typeName, range: e.range)
            case let .expression(inner):
                let (i, it) = expression(inner)
                out.kind = .offsetof(.expression(i), field: fields)
                current = it
            }
            for field in fields { current = member(field, of: current, access: e) }
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .error:
            return .unknown
        }
    }

    // MARK: Builtins

    func builtin(_ name: String, range: SourceRange) -> Typed {
        switch name {
        case "args":
            if !context.argsAvailable {
                error("'args' is not available in \(kindList) probes", at: range,
                      hint: context.kinds.contains(.kprobe) ? "kprobes take arg0, arg1, …" : nil)
            }
            return Typed(type: .record(name: "args"), kernel: nil)
        case "retval":
            if !context.retvalAvailable {
                error("'retval' is only available in kretprobe, uretprobe and kretfunc/fexit probes", at: range)
                return .unknown
            }
            if context.kinds == [.fexit], let fn = context.functions.first {
                return Typed(type: TypeMapping.semantic(fn.returnType),
                             kernel: KernelValueInfo(cType: fn.returnType, origin: .returnValue(function: fn.name)))
            }
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case "curtask":
            let c = kernel.btf?.type(named: "struct task_struct").map { CType.pointer($0) }
            return Typed(type: .pointer(to: .record(name: "struct task_struct")),
                         kernel: c.map { KernelValueInfo(cType: $0, origin: .builtin("curtask")) })
        default:
            if name.hasPrefix("arg"), Int(name.dropFirst(3)) != nil {
                if !context.argNAvailable, !context.kinds.isEmpty {
                    let hint = context.kinds.contains(.tracepoint) || context.hasFunctionArgs
                        ? "use args.NAME (the probe's arguments have names)" : nil
                    error("'\(name)' is not available in \(kindList) probes", at: range, hint: hint)
                }
                return Typed(type: BuiltinTypes.u64, kernel: nil)
            }
            return Typed(type: BuiltinTypes.variable(name) ?? .unknown, kernel: nil)
        }
    }

    var kindList: String {
        context.kinds.map(\.rawValue).sorted().joined(separator: "/")
    }

    // MARK: args

    func argsField(_ field: String, access: Expression) -> Typed {
        let range = fieldRange(access, field: field)
        if !context.tracepoints.isEmpty {
            var first: TracepointField?
            for format in context.tracepoints {
                guard let f = format.field(named: field) else {
                    let names = format.fields.map(\.name)
                    let close = SuggestionIndex(names).suggestions(for: field, limit: 1)
                    var hint = close.first.map { "did you mean '\($0)'? " } ?? ""
                    hint += "fields: " + names.joined(separator: ", ")
                    error("tracepoint \(format.category):\(format.name) has no field '\(field)'", at: range, hint: hint)
                    return .unknown
                }
                if first == nil { first = f }
            }
            guard let f = first else { return .unknown }
            let type = TypeMapping.semantic(f.type, dynamic: f.isDynamicArray)
            let tracepoint = context.tracepoints.count == 1
                ? "\(context.tracepoints[0].category):\(context.tracepoints[0].name)" : "\(context.tracepoints.count) tracepoints"
            return Typed(type: type, kernel: KernelValueInfo(
                cType: f.type, cName: f.typeText, isUserPointer: f.isUserPointer,
                origin: .tracepointField(tracepoint: tracepoint, field: field)))
        }
        if !context.functions.isEmpty {
            var first: KernelFunction.Parameter?
            for fn in context.functions {
                guard let p = fn.parameters.first(where: { $0.name == field }) else {
                    let names = fn.parameters.map(\.name).filter { !$0.isEmpty }
                    if names.isEmpty {
                        error("the arguments of '\(fn.name)' have no names in BTF", at: range,
                              hint: "use arg0 … arg\(max(0, fn.parameters.count - 1))")
                        return .unknown
                    }
                    let close = SuggestionIndex(names).suggestions(for: field, limit: 1)
                    var hint = close.first.map { "did you mean '\($0)'? " } ?? ""
                    hint += "arguments: " + names.joined(separator: ", ")
                    error("function \(fn.name) has no argument '\(field)'", at: range, hint: hint)
                    return .unknown
                }
                if first == nil { first = p }
            }
            guard let p = first, let fn = context.functions.first else { return .unknown }
            return Typed(type: TypeMapping.semantic(p.type), kernel: KernelValueInfo(
                cType: p.type, origin: .functionArgument(function: fn.name, argument: field)))
        }
        // uprobe/usdt args need DWARF; unresolved targets were already reported.
        return .unknown
    }

    /// The source range of `field` at the end of a `base.field`/`base->field` expression.
    func fieldRange(_ access: Expression, field: String) -> SourceRange {
        let n = field.utf8.count
        let end = access.range.end
        guard access.range != .unknown, end.offset - n >= access.range.start.offset,
              end.line == access.range.start.line || end.column > n else { return access.range }
        let start = SourceLocation(file: end.file, line: end.line, column: end.column - n, offset: end.offset - n)
        return SourceRange(start: start, end: end)
    }

    // MARK: Members

    /// The C record a value designates for `.`/`->` (through one pointer level).
    func record(of value: Typed) -> (CRecordRef, userMemory: Bool)? {
        var c = value.cType
        if c == nil {
            switch value.type {
            case let .record(name): c = kernelRecord(name)
            case let .pointer(.record(name)): c = kernelRecord(name).map { .pointer($0) }
            default: break
            }
        }
        guard var resolved = c?.resolved else { return nil }
        if case let .pointer(inner) = resolved { resolved = inner.resolved }
        guard case let .record(ref) = resolved else { return nil }
        return (ref, value.kernel?.isUserPointer ?? false)
    }

    /// The record named `spelling` (`struct sock`): the program's own definition shadows the
    /// kernel's, as in bpftrace (tools declare partial structs such as `struct cfs_rq`).
    private func kernelRecord(_ spelling: String) -> CType? {
        if preambleRecords.contains(spelling) { return recordRef(spelling).map { .record($0) } }
        return kernel.btf?.type(named: spelling) ?? recordRef(spelling).map { .record($0) }
    }

    private func recordRef(_ spelling: String) -> CRecordRef? {
        if spelling.hasPrefix("struct ") { return CRecordRef(isUnion: false, name: String(spelling.dropFirst(7))) }
        if spelling.hasPrefix("union ") { return CRecordRef(isUnion: true, name: String(spelling.dropFirst(6))) }
        return nil
    }

    func member(_ field: String, of base: Typed, access: Expression) -> Typed {
        if case let .tuple(elements) = base.type, let index = Int(field) {
            guard index >= 0, index < elements.count else {
                error("tuple has no element \(index)", at: fieldRange(access, field: field))
                return .unknown
            }
            return Typed(type: elements[index], kernel: nil)
        }
        guard let (ref, user) = record(of: base) else {
            switch base.type {
            case .unknown, .none: return .unknown
            default:
                error("cannot access field '\(field)' of a value of type \(base.type)", at: fieldRange(access, field: field))
                return .unknown
            }
        }
        guard let btf = kernel.btf else { return .unknown }
        if preambleRecords.contains(ref.spelling), ref.btfID == nil {
            // The program's own definition; opaque when its text was not understood.
            guard let members = preambleRecords.members(of: ref.spelling) ?? nil else { return .unknown }
            return member(field, in: ref, members: members, user: user, access: access)
        }
        guard let members = btf.members(of: ref) else {
            error("\(ref.spelling) has no definition in the kernel's BTF", at: access.range)
            return .unknown
        }
        return member(field, in: ref, members: members, user: user, access: access)
    }

    private func member(_ field: String, in ref: CRecordRef, members: [CMember], user: Bool, access: Expression) -> Typed {
        guard let m = members.first(where: { $0.name == field }) else {
            let close = SuggestionIndex(members.map(\.name)).suggestions(for: field, limit: 2)
            let hint = close.isEmpty ? nil : "did you mean " + close.map { "'\($0)'" }.joined(separator: " or ") + "?"
            error("\(ref.spelling) has no member '\(field)'", at: fieldRange(access, field: field), hint: hint)
            return .unknown
        }
        return Typed(type: TypeMapping.semantic(m.type), kernel: KernelValueInfo(
            cType: m.type, isUserPointer: user, origin: .member(record: ref.spelling, member: field)))
    }

    func element(of base: Typed) -> Typed {
        if let c = base.cType?.resolved {
            switch c {
            case let .array(element, _), let .pointer(element):
                return Typed(type: TypeMapping.semantic(element), kernel: base.kernel.map {
                    KernelValueInfo(cType: element, isUserPointer: $0.isUserPointer, origin: $0.origin)
                })
            default: break
            }
        }
        switch base.type {
        case let .array(of, _), let .pointer(of): return Typed(type: of, kernel: nil)
        case .string: return Typed(type: .integer(bits: 8, signed: true), kernel: nil)
        default: return .unknown
        }
    }

    // MARK: Operators

    func unary(_ op: UnaryOperator, _ operand: Typed) -> Typed {
        switch op {
        case .dereference:
            if let c = operand.cType?.resolved, case let .pointer(inner) = c {
                return Typed(type: TypeMapping.semantic(inner), kernel: operand.kernel.map {
                    KernelValueInfo(cType: inner, isUserPointer: $0.isUserPointer, origin: $0.origin)
                })
            }
            if case let .pointer(to) = operand.type { return Typed(type: to, kernel: nil) }
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .addressOf:
            return Typed(type: .pointer(to: operand.type),
                         kernel: operand.kernel.map { KernelValueInfo(cType: .pointer($0.cType), origin: $0.origin) })
        case .logicalNot:
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .negate:
            // bpftrace widens to 64 bits and keeps the operand's signedness (`-$u32` is uint64).
            return Typed(type: .integer(bits: 64, signed: operand.type == .unknown || Self.isSigned(operand.type)), kernel: nil)
        case .bitNot, .plus:
            return Typed(type: operand.type, kernel: nil)
        }
    }

    func binary(_ op: BinaryOperator, _ l: Typed, _ r: Typed) -> Typed {
        switch op {
        case .logicalOr, .logicalAnd, .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
            return Typed(type: BuiltinTypes.u64, kernel: nil)
        case .add, .subtract:
            if case .pointer = l.type { return Typed(type: l.type, kernel: l.kernel) }
            fallthrough
        default:
            // 64-bit result, signed only when both sides are (C's rule for mixed 64-bit
            // operands, and bpftrace's: `(nsecs - @t) / 1000` is uint64).
            let signed: Bool
            switch (l.type, r.type) {
            case (.unknown, _): signed = Self.isSigned(r.type)
            case (_, .unknown): signed = Self.isSigned(l.type)
            default: signed = Self.isSigned(l.type) && Self.isSigned(r.type)
            }
            return Typed(type: .integer(bits: 64, signed: signed), kernel: nil)
        }
    }

    static func isSigned(_ t: SemanticType) -> Bool {
        if case let .integer(_, signed) = t { return signed }
        return false
    }

    // MARK: Type names

    /// The type a cast/`let`/`sizeof` names; unknown records are errors with suggestions.
    func typeFromName(_ name: TypeName, range: SourceRange) -> Typed {
        var typed: Typed
        if let scalar = TypeMapping.scalar(name.base) {
            typed = Typed(type: scalar, kernel: nil)
        } else if name.isRecord {
            let isUnion = name.base.hasPrefix("union ")
            let bare = String(name.base.dropFirst(isUnion ? 6 : 7))
            if preambleRecords.contains(name.base) || kernel.btf == nil {
                typed = Typed(type: .record(name: name.base), kernel: nil)
            } else if let ref = kernel.btf?.record(named: bare, union: isUnion) {
                typed = Typed(type: .record(name: ref.spelling),
                              kernel: KernelValueInfo(cType: .record(ref), origin: .cast))
            } else {
                let close = kernel.btf?.suggestRecords(for: bare, union: isUnion) ?? []
                let keyword = isUnion ? "union" : "struct"
                let hint = close.isEmpty ? nil : "did you mean " + close.map { "'\(keyword) \($0)'" }.joined(separator: " or ") + "?"
                error("unknown type '\(name.base)'", at: range, hint: hint)
                return .unknown
            }
        } else if let c = kernel.btf?.type(named: name.base) {
            typed = Typed(type: TypeMapping.semantic(c), kernel: KernelValueInfo(cType: c, origin: .cast))
        } else if let c = CBaseTypeNames.integer(name.base) {
            typed = Typed(type: TypeMapping.semantic(c), kernel: nil)
        } else {
            if kernel.btf != nil { error("unknown type '\(name.base)'", at: range) }
            return .unknown
        }
        if let count = name.arrayCount {
            typed = Typed(type: .array(of: typed.type, count: count),
                          kernel: typed.kernel.map { KernelValueInfo(cType: .array($0.cType, count: count), origin: $0.origin) })
        }
        for _ in 0..<max(0, name.pointerDepth) {
            typed = Typed(type: .pointer(to: typed.type),
                          kernel: typed.kernel.map { KernelValueInfo(cType: .pointer($0.cType), origin: $0.origin) })
        }
        return typed
    }
}

/// C integer spellings accepted in casts when there is no BTF to ask.
enum CBaseTypeNames {
    static func integer(_ name: String) -> CType? {
        switch name {
        case "char": return .integer(CInteger(name: name, bits: 8, signed: true))
        case "short": return .integer(CInteger(name: name, bits: 16, signed: true))
        case "int": return .integer(CInteger(name: name, bits: 32, signed: true))
        case "long": return .integer(CInteger(name: name, bits: 64, signed: true))
        case "unsigned char": return .integer(CInteger(name: name, bits: 8, signed: false))
        case "unsigned short": return .integer(CInteger(name: name, bits: 16, signed: false))
        case "unsigned int", "unsigned": return .integer(CInteger(name: name, bits: 32, signed: false))
        case "unsigned long": return .integer(CInteger(name: name, bits: 64, signed: false))
        default: return nil
        }
    }
}
