import BpftraceSyntax
import KernelInfo

/// Typing of builtins whose meaning depends on the probe: `args`, `argN`, `retval`, `curtask`.
extension ResolutionPass {
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
}
