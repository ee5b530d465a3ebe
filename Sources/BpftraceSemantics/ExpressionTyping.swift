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
