import BpftraceSyntax

/// Why the agent refuses a bpftrace script before it reaches bpftrace.
public struct ProgramRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case syntax
        /// A bpftrace builtin that needs a capability the policy does not allow.
        case unsafeBuiltin(String)
        /// A probe kind, or an object program's kind, the policy does not allow.
        case probeKind(String)
        /// A BPF helper an object calls that needs a capability the policy does not allow.
        case helper(String)
        /// A kernel function (kfunc) an object calls that the policy does not allow.
        case kfunc(String)
        /// A preamble line the agent will not hand to clang (see `PreambleCheck`).
        case preamble
        /// Bytes that are not a BPF object the agent can inspect.
        case invalidObject
        case tooLarge
        /// The installed bpftrace cannot express a construct the script uses.
        case dialect
    }

    public var reason: Reason
    public var message: String
    /// Rendered diagnostics (file:line:col, source line and caret), for Status.detail.
    public var detail: String
    public var hint: String

    public var description: String { message }
}

/// What the agent learned from its own parse of a script.
public struct CheckedProgram: Sendable, Equatable {
    /// The text to give bpftrace: annotations stripped, lowered to the installed dialect.
    public var text: String
    /// The attach points, as written, for the registry.
    public var probes: [String]
    /// Capabilities the script uses (all allowed by the policy, or it was refused).
    public var capabilities: Set<ProgramCapability>

    /// bpftrace runs the script only with `--unsafe` (system, signal, override).
    public var needsUnsafeFlag: Bool { capabilities.contains { $0.needsBpftraceUnsafeFlag } }
}

/// The agent's own check of a script: it re-parses it instead of trusting what kend verified,
/// refuses builtins and probe kinds the policy forbids, and prepares the text bpftrace runs.
public struct ProgramChecker: Sendable {
    public var policy: AgentPolicy
    public var dialect: BpftraceDialect

    public init(policy: AgentPolicy, dialect: BpftraceDialect) {
        self.policy = policy
        self.dialect = dialect
    }

    public func check(_ source: String, file: String = "extension.bt") throws(ProgramRefusal) -> CheckedProgram {
        guard source.utf8.count <= policy.maxProgramBytes else {
            throw ProgramRefusal(reason: .tooLarge, message: "the script is \(source.utf8.count) bytes; the limit is \(policy.maxProgramBytes)",
                                 detail: "", hint: "raise programs.max_program_bytes in the agent's policy file")
        }
        let result = Parser.parse(source: source, file: file)
        guard let program = result.program else {
            let errors = result.diagnostics.filter { $0.severity == .error }
            let first = errors.first.map { "\($0.message)" } ?? "unknown syntax error"
            throw ProgramRefusal(reason: .syntax, message: "the script does not parse: \(first)",
                                 detail: result.diagnostics.map { $0.render(source: source) }.joined(separator: "\n"),
                                 hint: "fix the script (kenc check FILE shows the same diagnostics)")
        }
        var probes: [String] = []
        for probe in program.probes {
            for point in probe.attachPoints {
                probes.append(point.text)
                if !policy.allowedProbeKinds.isEmpty, !policy.allowedProbeKinds.contains(point.kind.canonicalProvider) {
                    throw ProgramRefusal(
                        reason: .probeKind(point.kind.canonicalProvider),
                        message: "probe kind \(point.kind.canonicalProvider) (\(point.text)) is not allowed by the agent's policy",
                        detail: "", hint: "allowed kinds: \(policy.allowedProbeKinds.joined(separator: ", "))")
                }
            }
        }
        try PreambleCheck(policy: policy).check(program.preamble)
        var used: [(ProgramCapability, String, SourceRange)] = []
        ProgramWalker.calls(in: program) { name, range in
            if let capability = ProgramCapability(builtin: name) { used.append((capability, name, range)) }
        }
        for (capability, name, range) in used where !policy.allowedCapabilities.contains(capability) {
            let line = range.start.line
            throw ProgramRefusal(
                reason: .unsafeBuiltin(name),
                message: "the script calls \(name)()\(line > 0 ? " on line \(line)" : ""), which needs capability \(capability.rawValue); the agent's policy refuses it",
                detail: "", hint: "remove \(name)(), or an administrator may allow it with \(capability.policyLine) in /etc/ken/agent.toml")
        }
        return CheckedProgram(text: try prepare(program, source: source), probes: probes,
                              capabilities: Set(used.map(\.0)))
    }
}

/// Walks every expression of a program.
enum ProgramWalker {
    static func calls(in program: Program, _ visit: (String, SourceRange) -> Void) {
        for probe in program.probes {
            if let predicate = probe.predicate { expression(predicate, visit) }
            block(probe.body, visit)
        }
    }

    static func block(_ block: Block, _ visit: (String, SourceRange) -> Void) {
        for statement in block.statements { self.statement(statement, visit) }
    }

    static func statement(_ s: Statement, _ visit: (String, SourceRange) -> Void) {
        switch s.kind {
        case let .expression(e), let .assume(e), let .assert(e, _): expression(e, visit)
        case let .assignment(target, _, value): expression(target, visit); expression(value, visit)
        case let .letDeclaration(_, _, value): if let value { expression(value, visit) }
        case let .ifStatement(condition, then, otherwise):
            expression(condition, visit); block(then, visit); if let otherwise { block(otherwise, visit) }
        case let .unroll(count, body): expression(count, visit); block(body, visit)
        case let .whileLoop(condition, body): expression(condition, visit); block(body, visit)
        case let .forMap(_, map, body): expression(map, visit); block(body, visit)
        case let .forRange(_, start, end, body): expression(start, visit); expression(end, visit); block(body, visit)
        case let .returnStatement(e): if let e { expression(e, visit) }
        case let .block(b): block(b, visit)
        case .breakStatement, .continueStatement: break
        }
    }

    static func expression(_ e: Expression, _ visit: (String, SourceRange) -> Void) {
        switch e.kind {
        case let .call(name, arguments):
            visit(name, e.range)
            for a in arguments { expression(a, visit) }
        case let .map(_, keys): for k in keys { expression(k, visit) }
        case let .unary(_, x), let .incrementDecrement(_, _, x), let .cast(_, x), let .fieldAccess(x, _, _):
            expression(x, visit)
        case let .binary(_, a, b), let .index(a, b): expression(a, visit); expression(b, visit)
        case let .ternary(c, t, f): expression(c, visit); expression(t, visit); expression(f, visit)
        case let .tuple(items): for i in items { expression(i, visit) }
        case let .sizeof(.expression(x)), let .offsetof(.expression(x), _): expression(x, visit)
        case .integer, .string, .boolean, .variable, .positional, .positionalCount, .builtin, .identifier,
             .sizeof(.type), .offsetof(.type, _), .error:
            break
        }
    }
}

extension ProgramChecker {
    /// The text bpftrace runs: Ken's assume/assert annotations removed, the tree lowered to the
    /// installed bpftrace's dialect and printed. Printing from the agent's own tree (rather than
    /// passing the client's text through) means bpftrace runs exactly what the agent checked.
    func prepare(_ program: Program, source: String) throws(ProgramRefusal) -> String {
        let result = Printer.print(stripAnnotations(program), dialect: dialect)
        let errors = result.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else {
            throw ProgramRefusal(
                reason: .dialect,
                message: "the script cannot be expressed in \(dialect): \(errors[0].message)",
                detail: errors.map { $0.render(source: source) }.joined(separator: "\n"),
                hint: "rewrite it without the construct, or install a newer bpftrace")
        }
        return result.text
    }
}
