/// Rewrites a program written in any supported dialect into the syntax an older bpftrace
/// accepts. Every rewrite is purely syntactic (semantic types are used when present but
/// never required); what cannot be expressed gets an error diagnostic naming the release
/// that introduced it.
public enum Lowering {
    /// The unroll() limit of bpftrace releases before for-range loops existed.
    public static let maximumUnrollCount: UInt64 = 100
    /// bpftrace's default map size (BPFTRACE_MAP_KEYS_MAX) before map declarations existed.
    public static let defaultMaximumMapKeys: UInt64 = 4096

    public static func lower(_ program: Program, to dialect: BpftraceDialect) -> LoweringResult {
        let sink = DiagnosticSink(dialect: dialect)
        var p = program
        p.probes = program.probes.map { probe in
            // Scratch variables are probe-local, so pointer inference is per probe.
            let pointers = dialect.supports(.autoDereference) ? [] : PointerInference.pointerVariables(in: probe)
            let transform = TreeTransform(
                expression: { lowerExpression($0, dialect: dialect, pointerVariables: pointers, sink: sink) },
                statement: { lowerStatement($0, dialect: dialect, sink: sink) })
            let scoped = dialect.supports(.letDeclarations) ? probe : LetScoping.renameRedeclarations(in: probe)
            var q = transform.apply(scoped)
            q.attachPoints = probe.attachPoints.map { lowerAttachPoint($0, dialect: dialect) }
            return q
        }
        if let config = p.config {
            p.config = TreeTransform(expression: { lowerExpression($0, dialect: dialect, pointerVariables: [], sink: sink) })
                .apply(Program(config: config)).config
        }
        if !dialect.supports(.multipleBeginEnd) {
            for kind in [ProbeKind.begin, .end] {
                let points = p.probes.flatMap(\.attachPoints).filter { $0.kind == kind }
                if points.count > 1 {
                    sink.unsupported("more than one \(kind.canonicalProvider) probe", feature: .multipleBeginEnd,
                                     at: points[1].range, hint: "merge them into a single \(kind.canonicalProvider) probe")
                }
            }
        }
        if !dialect.supports(.mapDeclarations) && !p.mapDeclarations.isEmpty {
            // Older releases size every map by BPFTRACE_MAP_KEYS_MAX (default 4096) and only
            // make hash maps: dropping the declaration is exact for `hash(N ≤ 4096)`.
            for declaration in p.mapDeclarations {
                let fits = (declaration.maxEntries.value ?? .max) <= defaultMaximumMapKeys
                if declaration.mapType != "hash" || !fits {
                    sink.diagnostics.append(.warning(
                        "map declaration 'let @\(declaration.name) = \(declaration.mapType)(\(declaration.maxEntries.text))' needs bpftrace 0.25; for bpftrace \(dialect.version) it is dropped and @\(declaration.name) becomes a plain hash map of up to \(defaultMaximumMapKeys) entries",
                        at: declaration.range))
                }
            }
            p.mapDeclarations = []
        }
        if let config = p.config, !dialect.supports(.configBlock) {
            sink.unsupported("the config block", feature: .configBlock, at: config.range,
                             hint: "set the options through BPFTRACE_* environment variables instead")
        }
        return LoweringResult(program: p, diagnostics: sink.diagnostics)
    }

    // MARK: Attach points

    static func lowerAttachPoint(_ ap: AttachPoint, dialect: BpftraceDialect) -> AttachPoint {
        var a = ap
        switch ap.kind {
        case .begin, .end:
            if !dialect.supports(.lowercaseProviders) { a.provider = ap.kind.canonicalProvider }
        case .fentry, .fexit:
            if !dialect.supports(.fentryNames) {
                a.provider = ap.kind == .fentry ? "kfunc" : "kretfunc"
            } else if ProbeKind.from(provider: ap.provider) == nil {
                a.provider = ap.kind.rawValue
            }
        case .interval, .profile:
            // `interval:1s` (duration literal, 0.24) → `interval:s:1`.
            if !dialect.supports(.durationLiterals), ap.target.count == 1,
               let split = splitDuration(ap.target[0]) {
                a.target = [split.unit, split.count]
            }
            if ProbeKind.from(provider: ap.provider) == nil { a.provider = ap.kind.canonicalProvider }
        default:
            // A provider spelled in another case (accepted from 0.24) becomes canonical.
            if ProbeKind.from(provider: ap.provider) == nil { a.provider = ap.kind.canonicalProvider }
        }
        return a
    }

    /// `"100ms"` → ("ms", "100") for the units interval/profile probes name.
    static func splitDuration(_ part: String) -> (unit: String, count: String)? {
        let digits = part.prefix { $0.isASCII && $0.isNumber }
        let unit = String(part.dropFirst(digits.count))
        guard !digits.isEmpty, ["s", "ms", "us", "hz"].contains(unit) else { return nil }
        return (unit, String(digits))
    }

    // MARK: Expressions

    static func lowerExpression(_ e: Expression, dialect: BpftraceDialect, pointerVariables: Set<String>,
                                sink: DiagnosticSink) -> Expression {
        var out = e
        switch e.kind {
        case let .boolean(b) where !dialect.supports(.booleanLiterals):
            out.kind = .integer(IntegerLiteral(b ? 1 : 0))
        case let .integer(literal) where !dialect.supports(.durationLiterals):
            if case let .success(value, suffix?) = IntegerLiteralParser.parse(literal.text.utf8) {
                _ = suffix
                out.kind = .integer(IntegerLiteral(value))
            }
        case let .call(name, arguments) where !dialect.supports(.builtinCalls)
            && BpftraceNames.callableBuiltinVariables.contains(name):
            if arguments.isEmpty {
                out.kind = .builtin(name)
            } else {
                sink.unsupported("calling '\(name)' with arguments", feature: .builtinCalls, at: e.range)
            }
        case let .fieldAccess(base, field, false) where !(field.first?.isNumber ?? true):
            let isArgs = base.kind == .builtin("args")
            let isPointer = PointerInference.isPointer(base, variables: pointerVariables)
            if (isArgs && !dialect.supports(.argsStruct)) || (isPointer && !dialect.supports(.autoDereference)) {
                out.kind = .fieldAccess(base, field: field, arrow: true)
            }
        case let .cast(type, operand):
            var lowered = type
            if !dialect.supports(.shortIntegerTypeNames) { lowered = longIntegerTypeName(type) }
            if type.arrayCount != nil && !dialect.supports(.arrayCasts) {
                sink.unsupported("casting to an array type '\(type)'", feature: .arrayCasts, at: e.range)
            }
            out.kind = .cast(lowered, operand)
        case let .sizeof(.type(type)) where !dialect.supports(.shortIntegerTypeNames):
            out.kind = .sizeof(.type(longIntegerTypeName(type)))
        case .unary(.addressOf, _) where !dialect.supports(.addressOf):
            sink.unsupported("the address-of operator '&'", feature: .addressOf, at: e.range)
        case let .offsetof(_, field) where field.count > 1 && !dialect.supports(.offsetofSubfields):
            sink.unsupported("offsetof() with a sub-field path", feature: .offsetofSubfields, at: e.range)
        default:
            break
        }
        return out
    }

    /// `u16` → `uint16` (and `i32` → `int32`); other names unchanged.
    static func longIntegerTypeName(_ type: TypeName) -> TypeName {
        guard let int = BpftraceNames.integerType(type.base) else { return type }
        var t = type
        t.base = (int.signed ? "int" : "uint") + String(int.bits)
        return t
    }

    // MARK: Statements

    static func lowerStatement(_ s: Statement, dialect: BpftraceDialect, sink: DiagnosticSink) -> [Statement] {
        switch s.kind {
        case let .letDeclaration(name, type, value) where !dialect.supports(.letDeclarations):
            return lowerLet(s, name: name, type: type, value: value, sink: sink)
        case let .block(b) where !dialect.supports(.letDeclarations):
            // Before block scoping, variables were probe-wide: inlining keeps the meaning.
            return b.statements
        case let .forMap(_, _, body):
            if !dialect.supports(.forMapLoop) {
                sink.unsupported("'for ($kv : @map)' loops", feature: .forMapLoop, at: s.range,
                                 hint: "print or aggregate the map instead of iterating over it")
            } else if !dialect.supports(.forLoopBreakContinue), let control = loopControl(in: body) {
                sink.unsupported("'\(control)' inside a for loop", feature: .forLoopBreakContinue, at: s.range)
            }
            return [s]
        case let .forRange(variable, start, end, body) where !dialect.supports(.forRangeLoop):
            return lowerForRange(s, variable: variable, start: start, end: end, body: body, dialect: dialect, sink: sink)
        default:
            return [s]
        }
    }

    private static func lowerLet(_ s: Statement, name: String, type: TypeName?, value: Expression?,
                                 sink: DiagnosticSink) -> [Statement] {
        let variable = Expression(.variable(name), range: s.range)
        guard let type else {
            guard let value else { return [] } // `let $x;` only declared scope.
            return [Statement(.assignment(target: variable, op: .assign, value: value), range: s.range)]
        }
        if type.pointerDepth == 0, type.arrayCount == nil, let int = BpftraceNames.integerType(type.base) {
            // Cast to the declared width so the variable keeps the narrow type.
            let canonical = TypeName(base: (int.signed ? "int" : "uint") + String(int.bits))
            let operand = value ?? Expression(.integer(IntegerLiteral(0)), range: s.range)
            let cast = Expression(.cast(canonical, operand), range: operand.range)
            return [Statement(.assignment(target: variable, op: .assign, value: cast), range: s.range)]
        }
        if let value, type.pointerDepth > 0, type.arrayCount == nil {
            let cast = Expression(.cast(longIntegerTypeName(type), value), range: value.range)
            return [Statement(.assignment(target: variable, op: .assign, value: cast), range: s.range)]
        }
        if let value, type.base == "string", type.pointerDepth == 0, type.arrayCount == nil {
            return [Statement(.assignment(target: variable, op: .assign, value: value), range: s.range)]
        }
        sink.unsupported("'let $\(name): \(type)'", feature: .letDeclarations, at: s.range,
                         hint: "assign the variable directly, e.g. '$\(name) = …;'")
        return [s]
    }

    private static func lowerForRange(_ s: Statement, variable: String, start: Expression, end: Expression,
                                      body: Block, dialect: BpftraceDialect, sink: DiagnosticSink) -> [Statement] {
        let r = s.range
        let counter = Expression(.variable(variable), range: r)
        let control = loopControl(in: body)
        let increment = Statement(.expression(Expression(.incrementDecrement(.increment, prefix: false, counter), range: r)), range: r)
        let initialize = Statement(.assignment(target: counter, op: .assign, value: start), range: r)
        var loopBody = body
        loopBody.statements.append(increment)

        if case let .integer(a) = start.kind, case let .integer(b) = end.kind,
           let from = a.value, let to = b.value, control == nil {
            if to <= from { return [] }
            let count = to - from
            if count <= maximumUnrollCount {
                let unroll = Statement(.unroll(count: Expression(.integer(IntegerLiteral(count)), range: r), body: loopBody), range: r)
                return [initialize, unroll]
            }
        }
        if control == "continue" {
            sink.unsupported("'continue' inside a range loop", feature: .forRangeLoop, at: r,
                             hint: "restructure the body with 'if' instead of 'continue'")
            return [s]
        }
        // `while` re-evaluates its condition, but a range end is evaluated once: keep a copy.
        var prefix: [Statement] = [initialize]
        var limit = end
        switch end.kind {
        case .integer, .positional:
            break
        default:
            let endVariable = Expression(.variable("__ken_end_" + variable), range: r)
            prefix.append(Statement(.assignment(target: endVariable, op: .assign, value: end), range: r))
            limit = endVariable
        }
        let condition = Expression(.binary(.less, counter, limit), range: r)
        return prefix + [Statement(.whileLoop(condition: condition, body: loopBody), range: r)]
    }

    /// `break` or `continue` that would bind to this loop (nested loops are not searched).
    static func loopControl(in block: Block) -> String? {
        for s in block.statements {
            switch s.kind {
            case .breakStatement: return "break"
            case .continueStatement: return "continue"
            case let .ifStatement(_, t, e):
                if let c = loopControl(in: t) { return c }
                if let e, let c = loopControl(in: e) { return c }
            case let .block(b):
                if let c = loopControl(in: b) { return c }
            default:
                break
            }
        }
        return nil
    }
}

public struct LoweringResult: Sendable, Hashable {
    public var program: Program
    public var diagnostics: [Diagnostic]

    public init(program: Program, diagnostics: [Diagnostic]) {
        self.program = program
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Collects diagnostics from inside transform closures.
final class DiagnosticSink {
    let dialect: BpftraceDialect
    var diagnostics: [Diagnostic] = []

    init(dialect: BpftraceDialect) {
        self.dialect = dialect
    }

    func unsupported(_ what: String, feature: BpftraceFeature, at range: SourceRange, hint: String? = nil) {
        diagnostics.append(.error(
            "\(what) requires bpftrace \(feature.introducedIn.major).\(feature.introducedIn.minor) or later, but the target is bpftrace \(dialect.version)",
            at: range, hint: hint))
    }
}

/// Decides, without kernel types, which expressions are certainly pointers, so `.` on them
/// can become `->` for bpftrace releases without auto-dereference. Semantic types win when
/// present; otherwise only unambiguous syntax counts (pointer casts, `curtask`, `ctx`, `&x`,
/// and variables every assignment of which is such a pointer).
enum PointerInference {
    static func isPointer(_ e: Expression, variables: Set<String>) -> Bool {
        if let type = e.type {
            if case .pointer = type { return true }
            return false
        }
        switch e.kind {
        case let .cast(type, _): return type.pointerDepth > 0
        case .builtin("curtask"), .builtin("ctx"): return true
        case .unary(.addressOf, _): return true
        case let .variable(name): return variables.contains(name)
        default: return false
        }
    }

    static func pointerVariables(in probe: Probe) -> Set<String> {
        var pointer: Set<String> = []
        var other: Set<String> = []
        // Two rounds let `$a = (struct x *)p; $b = $a;` mark both.
        for _ in 0..<2 {
            _ = TreeTransform(statement: { s in
                switch s.kind {
                case let .assignment(target, .assign, value):
                    if case let .variable(name) = target.kind {
                        if isPointer(value, variables: pointer) { pointer.insert(name) } else { other.insert(name) }
                    }
                case let .letDeclaration(name, type, value):
                    if let type {
                        if type.pointerDepth > 0 { pointer.insert(name) } else { other.insert(name) }
                    } else if let value {
                        if isPointer(value, variables: pointer) { pointer.insert(name) } else { other.insert(name) }
                    }
                default:
                    break
                }
                return [s]
            }).apply(probe)
        }
        return pointer.subtracting(other)
    }
}
