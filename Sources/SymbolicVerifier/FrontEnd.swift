import BpftraceSemantics
import BpftraceSyntax
import KernelInfo

/// Parsing and type resolution for verification.
///
/// Annotations may name ghost variables: a `$name` never assigned in its probe, read only in
/// `assume`/`assert`, standing for an arbitrary fixed value (e.g. "the port the user asked
/// about"). bpftrace's rules (and so the resolver) reject reading an unassigned variable; the
/// annotations are stripped before loading, so for verification exactly those diagnostics are
/// set aside and every other resolution error still stops verification.
public enum VerificationFrontEnd {
    /// The typed program, or the diagnostics that prevent verifying it. Without a kernel the
    /// program is only parsed, and the verifier falls back to bpftrace's default types.
    public static func prepare(source: String, file: String,
                               kernel: KernelInfo?) -> Result<Program, ResolveFailure> {
        prepareResolved(source: source, file: file, kernel: kernel).map(\.program)
    }

    /// Like `prepare`, keeping the resolver's kernel facts (nil without a kernel).
    static func prepareResolved(source: String, file: String,
                                kernel: KernelInfo?) -> Result<(program: Program, resolved: ResolvedProgram?), ResolveFailure> {
        let parsed = Parser.parse(source: source, file: file)
        guard let program = parsed.program else {
            return .failure(ResolveFailure(diagnostics: parsed.diagnostics.filter { $0.severity == .error }))
        }
        return prepareResolved(program: program, kernel: kernel)
    }

    /// Like `prepare(source:)` for a program already parsed (the synthesis pipeline's tree):
    /// no second parse of the same text.
    public static func prepare(program: Program, kernel: KernelInfo?) -> Result<Program, ResolveFailure> {
        prepareResolved(program: program, kernel: kernel).map(\.program)
    }

    static func prepareResolved(program: Program,
                                kernel: KernelInfo?) -> Result<(program: Program, resolved: ResolvedProgram?), ResolveFailure> {
        guard let kernel else { return .success((program, nil)) }
        var resolved = Resolver(kernel: kernel).resolve(program)
        let errors = resolved.diagnostics.filter { diagnostic in
            diagnostic.severity == .error && !isGhostReference(diagnostic, in: program)
        }
        guard errors.isEmpty else { return .failure(ResolveFailure(diagnostics: errors)) }
        resolved.program = substitutingEnumerators(in: resolved.program, kernel: kernel)
        return .success((resolved.program, resolved))
    }

    /// Replaces enum constants the kernel's BTF defines (`SKB_DROP_REASON_NOT_SPECIFIED`) by
    /// their values, so the verifier can reason about them instead of giving up.
    static func substitutingEnumerators(in program: Program, kernel: KernelInfo) -> Program {
        guard let btf = kernel.btf else { return program }
        return TreeTransform(expression: { expression in
            guard case let .identifier(name) = expression.kind, let value = btf.enumerator(name) else {
                return expression
            }
            let magnitude = IntegerLiteral(value: value.magnitude, text: name)
            let literal = Expression(.integer(magnitude), range: expression.range, type: expression.type)
            if value >= 0 { return literal }
            return Expression(.unary(.negate, literal), range: expression.range, type: expression.type)
        }).apply(program)
    }

    /// Whether `diagnostic` is the resolver's complaint about a ghost variable: an undefined
    /// `$variable` read inside an annotation of a probe that never assigns it.
    public static func isGhostReference(_ diagnostic: Diagnostic, in program: Program) -> Bool {
        let prefix = "use of undefined variable '$"
        guard diagnostic.message.hasPrefix(prefix) else { return false }
        let name = String(diagnostic.message.dropFirst(prefix.count).prefix { $0 != "'" })
        let offset = diagnostic.range.start.offset
        for probe in program.probes where probe.range.start.offset <= offset && offset < probe.range.end.offset {
            let annotations = annotationRanges(in: probe.body)
            guard annotations.contains(where: { $0.start.offset <= offset && offset < $0.end.offset }) else {
                return false
            }
            return !assigns(name, in: probe.body)
        }
        return false
    }

    private static func annotationRanges(in block: Block) -> [SourceRange] {
        var ranges: [SourceRange] = []
        for statement in block.statements {
            switch statement.kind {
            case .assume, .assert:
                ranges.append(statement.range)
            case let .ifStatement(_, then, otherwise):
                ranges += annotationRanges(in: then)
                if let otherwise { ranges += annotationRanges(in: otherwise) }
            case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                 let .forRange(_, _, _, body), let .block(body):
                ranges += annotationRanges(in: body)
            default:
                break
            }
        }
        return ranges
    }

    private static func assigns(_ name: String, in block: Block) -> Bool {
        block.statements.contains { statement in
            switch statement.kind {
            case let .assignment(target, _, _):
                if case let .variable(assigned) = target.kind { return assigned == name }
                return false
            case let .letDeclaration(declared, _, _):
                return declared == name
            case let .expression(expression):
                if case let .incrementDecrement(_, _, operand) = expression.kind,
                   case let .variable(changed) = operand.kind { return changed == name }
                return false
            case let .ifStatement(_, then, otherwise):
                return assigns(name, in: then) || (otherwise.map { assigns(name, in: $0) } ?? false)
            case let .unroll(_, body), let .whileLoop(_, body), let .block(body):
                return assigns(name, in: body)
            case let .forMap(variable, _, body), let .forRange(variable, _, _, body):
                return variable == name || assigns(name, in: body)
            default:
                return false
            }
        }
    }
}
