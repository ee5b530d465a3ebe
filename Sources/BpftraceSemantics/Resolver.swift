import BpftraceSyntax
import KernelInfo

/// Resolves a parsed bpftrace program against the running kernel: every attach point must
/// exist (after wildcard expansion), every `args` field, cast type and struct member must be
/// known to tracefs/BTF, every `$variable` must be assigned before use. Fills each
/// expression's `type` and records kernel facts (C type names, user pointers) on the side.
///
/// Errors carry the exact source range and, where a near name exists, a "did you mean" hint,
/// because the messages are fed back to an LLM that repairs the program.
public struct Resolver: Sendable {
    public let kernel: KernelInfo

    public init(kernel: KernelInfo) {
        self.kernel = kernel
    }

    public func resolve(_ program: Program) -> ResolvedProgram {
        // Maps are global and may be written in a later probe than the one reading them, so a
        // first pass learns map value types, a second produces the final tree and diagnostics.
        let first = ResolutionPass(kernel: kernel, knownMaps: [:])
        _ = first.run(program)
        let second = ResolutionPass(kernel: kernel, knownMaps: first.maps)
        return second.run(program)
    }
}

/// A typed value during resolution: its bpftrace type plus the kernel facts about it.
struct Typed {
    var type: SemanticType
    var kernel: KernelValueInfo?

    static let unknown = Typed(type: .unknown, kernel: nil)
    static let none = Typed(type: .none, kernel: nil)

    /// The C type, when the value came from the kernel.
    var cType: CType? { kernel?.cType }
}

/// One resolution pass over a whole program. A class because the walk threads a lot of
/// mutable state (diagnostics, variable scopes, side tables) through deep recursion.
final class ResolutionPass {
    let kernel: KernelInfo
    var diagnostics: [Diagnostic] = []
    var kernelValues: [SourceRange: KernelValueInfo] = [:]
    var attachPoints: [ResolvedAttachPoint] = []
    /// Map value types (from the first assignment), and their kernel facts.
    var maps: [String: Typed]
    /// `$variables` of the probe being resolved (bpftrace variables are probe-scoped).
    var variables: [String: Typed] = [:]
    var context = ProbeContext()
    /// C structs/unions defined in the program's preamble; they shadow BTF's.
    var preambleRecords = PreambleRecords([], btf: nil)
    /// Macro names `#define`d in the program.
    var preambleMacros: Set<String> = []
    /// Whether the program `#include`s headers (their macros cannot be checked).
    var hasIncludes = false

    init(kernel: KernelInfo, knownMaps: [String: Typed]) {
        self.kernel = kernel
        self.maps = knownMaps
    }

    func run(_ program: Program) -> ResolvedProgram {
        preambleRecords = PreambleRecords(program.preamble, btf: kernel.btf)
        for item in program.preamble {
            switch item.kind {
            case .define:
                if let name = item.name { preambleMacros.insert(name) }
            case .include:
                hasIncludes = true
            default:
                break
            }
        }
        var out = program
        if var config = program.config {
            // Config values are settings, not program values: literals get their literal type,
            // bare words (`stack_mode = perf`) stay untyped without an "unknown identifier".
            for i in config.entries.indices {
                var value = config.entries[i].value
                switch value.kind {
                case .integer: value.type = BuiltinTypes.s64
                case let .string(s): value.type = .string(size: s.utf8.count + 1)
                case .boolean: value.type = .boolean
                default: value.type = .unknown
                }
                config.entries[i].value = value
            }
            out.config = config
        }
        out.probes = program.probes.map(resolveProbe)
        let sorted = diagnostics.enumerated().sorted {
            ($0.element.range.start.offset, $0.offset) < ($1.element.range.start.offset, $1.offset)
        }.map(\.element)
        return ResolvedProgram(program: out, diagnostics: sorted, kernelValues: kernelValues,
                               attachPoints: attachPoints, mapTypes: maps.mapValues(\.type))
    }

    func error(_ message: String, at range: SourceRange, hint: String? = nil) {
        diagnostics.append(.error(message, at: range, hint: hint))
    }

    // MARK: Probes

    func resolveProbe(_ probe: Probe) -> Probe {
        variables = [:]
        context = ProbeContext()
        for ap in probe.attachPoints {
            let targets = resolveAttachPoint(ap)
            attachPoints.append(ResolvedAttachPoint(attachPoint: ap, targets: targets))
        }
        var out = probe
        if let predicate = probe.predicate {
            out.predicate = expression(predicate).0
        }
        out.body = block(probe.body)
        return out
    }

    // MARK: Statements

    func block(_ b: Block) -> Block {
        var out = b
        out.statements = b.statements.map(statement)
        return out
    }

    func statement(_ s: Statement) -> Statement {
        var out = s
        switch s.kind {
        case let .expression(e):
            out.kind = .expression(expression(e).0)
        case let .assignment(target, op, value):
            let (v, vt) = expression(value)
            let t = assign(target, op: op, value: vt)
            out.kind = .assignment(target: t, op: op, value: v)
        case let .letDeclaration(name, typeName, value):
            var declared: Typed?
            if let typeName { declared = Typed(type: typeFromName(typeName, range: s.range).type, kernel: nil) }
            var newValue: Expression?
            if let value {
                let (v, vt) = expression(value)
                newValue = v
                declared = declared ?? vt
            }
            variables[name] = declared ?? .unknown
            out.kind = .letDeclaration(name: name, type: typeName, value: newValue)
        case let .ifStatement(condition, then, elseBlock):
            out.kind = .ifStatement(condition: expression(condition).0, then: block(then),
                                    else: elseBlock.map(block))
        case let .unroll(count, body):
            out.kind = .unroll(count: expression(count).0, body: block(body))
        case let .whileLoop(condition, body):
            out.kind = .whileLoop(condition: expression(condition).0, body: block(body))
        case let .forMap(variable, map, body):
            let (m, mt) = expression(map)
            var keyType: SemanticType = .unknown
            if case let .map(name, _) = map.kind, let known = maps[name] { keyType = known.type }
            variables[variable] = Typed(type: .tuple([.unknown, keyType]), kernel: nil)
            _ = mt
            out.kind = .forMap(variable: variable, map: m, body: block(body))
        case let .forRange(variable, start, end, body):
            let (s1, st) = expression(start)
            let (e1, _) = expression(end)
            variables[variable] = Typed(type: st.type, kernel: nil)
            out.kind = .forRange(variable: variable, start: s1, end: e1, body: block(body))
        case .breakStatement, .continueStatement:
            break
        case let .returnStatement(e):
            out.kind = .returnStatement(e.map { expression($0).0 })
        case let .block(b):
            out.kind = .block(block(b))
        case let .assume(e):
            out.kind = .assume(expression(e).0)
        case let .assert(e, message):
            out.kind = .assert(expression(e).0, message: message)
        }
        return out
    }

    /// Types an assignment target, defining `$variables` and maps on first assignment.
    func assign(_ target: Expression, op: AssignmentOperator, value: Typed) -> Expression {
        var out = target
        switch target.kind {
        case let .variable(name) where op == .assign || variables[name] != nil:
            if variables[name] == nil || variables[name]?.type == .unknown { variables[name] = value }
            out.type = variables[name]?.type ?? value.type
            if let k = variables[name]?.kernel { kernelValues[target.range] = k }
            return out
        case let .map(name, keys):
            out.kind = .map(name: name, keys: keys.map { expression($0).0 })
            if maps[name] == nil || maps[name]?.type == .unknown { maps[name] = value }
            out.type = maps[name]?.type ?? value.type
            return out
        default:
            return expression(target).0
        }
    }
}
