import BpftraceSyntax

/// Turns a request's constraints into asserts on a program's outputs.
///
/// Every output statement (printf, print, cat, system, signal, override, a map update) of the
/// one probe that acts for the task the request names gets `assert(C, "from the request: …")`
/// just before it, so the symbolic verifier must prove from the path to it that the output
/// happens only when the request's condition holds. Nothing is placed when it could be wrong:
/// - outputs in more than one task-context probe (a start/finish pair, where only one side sees
///   the task the request names) — which one the filter belongs to is the program's design;
/// - a field the probe does not have (a signal number without `sig`, a port without `dport`),
///   or a size when the probe has no single size field;
/// - a process name when the probe's record names a task of its own (`args->comm`): the
///   request may mean that task rather than the current one;
/// - durations and paths: which value is the duration, or a re-read of user memory, cannot be
///   asserted soundly from the words alone. These are reported, not asserted.
public enum AssertPlacement {
    /// The marker every prompt-derived assert's message starts with: how a report tells who claimed it.
    public static let marker = "from the request: "

    public struct Result: Sendable, Hashable {
        /// The program with the asserts inserted (unchanged when none were placed).
        public var program: Program
        /// The asserts placed, as bpftrace text, with the probe they were placed in.
        public var asserts: [(probe: String, text: String)]
        /// For the user: what was asserted where, and each constraint left out with why.
        public var notes: [String]

        public static func == (lhs: Result, rhs: Result) -> Bool {
            lhs.program == rhs.program && lhs.notes == rhs.notes && lhs.asserts.map(\.text) == rhs.asserts.map(\.text)
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(program)
            hasher.combine(notes)
        }
    }

    /// `fields(probeIndex)`: the argument names the probe's record has (`args->NAME`), or nil
    /// when unknown — then only builtins (comm, pid, uid) are asserted.
    public static func place(_ extraction: ConstraintExtractor.Extraction, in program: Program,
                             fields: (Int) -> Set<String>?) -> Result {
        var notes = extraction.skipped.map { "the request states \"\($0.phrase)\", but no assert was made: \($0.reason)" }
        var result = Result(program: program, asserts: [], notes: [])
        guard !extraction.constraints.isEmpty else {
            result.notes = notes
            return result
        }
        let acting = program.probes.indices.filter { isTaskContext(program.probes[$0]) && hasOutput(program.probes[$0].body) }
        guard acting.count == 1, let index = acting.first else {
            let why = acting.isEmpty ? "the program has no output in a probe that runs for a task"
                : "the program's outputs are in \(acting.count) probes, and which one the request's filter belongs to is its design"
            result.notes = notes + extraction.constraints.map { "the request states \"\($0.phrase)\", but no assert was made: \(why)" }
            return result
        }
        let probe = program.probes[index]
        let probeName = probe.attachPoints.map(\.text).joined(separator: ",")
        let known = fields(index)
        var conditions: [(condition: String, phrase: String)] = []
        for constraint in extraction.constraints {
            switch condition(constraint.kind, fields: known) {
            case .success(let text): conditions.append((text, constraint.phrase))
            case .failure(let why): notes.append("the request states \"\(constraint.phrase)\", but no assert was made: \(why.reason)")
            }
        }
        var statements: [Statement] = []
        for item in conditions {
            let message = marker + item.phrase.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline }
            let source = "BEGIN { assert(\(item.condition), \"\(message)\"); }"
            guard let parsed = Parser.parse(source: source, file: "prompt-assert.bt").program,
                  let statement = parsed.probes.first?.body.statements.first else {
                notes.append("the request states \"\(item.phrase)\", but its assert did not parse: \(item.condition)")
                continue
            }
            statements.append(statement)
            result.asserts.append((probeName, Printer.print(statement).trimmingCharacters(in: .whitespacesAndNewlines)))
            notes.append("from the request \"\(item.phrase)\": assert(\(item.condition)) before every output of \(probeName)")
        }
        if !statements.isEmpty {
            result.program.probes[index].body = insert(statements, before: result.program.probes[index].body)
        }
        result.notes = notes
        return result
    }

    struct Unassertable: Error { var reason: String }

    /// The bpftrace condition for one constraint on a probe with `fields`.
    static func condition(_ kind: PromptConstraint.Kind, fields: Set<String>?) -> Swift.Result<String, Unassertable> {
        func field(_ wanted: [String]) -> String? {
            guard let fields else { return nil }
            return wanted.first { fields.contains($0) }
        }
        switch kind {
        case .processName(let names):
            // A record that names a task of its own (sched_wakeup's woken task, sched_switch's
            // next, signal_generate's target) makes "a task named X" mean either that task or
            // the current one: no assert rather than a guess.
            if let other = fields?.sorted().first(where: { $0.hasSuffix("comm") }) {
                return .failure(Unassertable(reason: "the probe's record names a task of its own (args->\(other)), so whether the request means it or the current task is not clear"))
            }
            return .success(names.map { "comm == \"\($0)\"" }.joined(separator: " || "))
        case .pid(let value):
            return .success("pid == \(value)")
        case .uid(let value):
            return .success("uid == \(value)")
        case .signal(let number, let name):
            guard let sig = field(["sig", "signal", "signr"]) else {
                return .failure(Unassertable(reason: "the probe has no signal-number field to check \(name) against"))
            }
            return .success("args->\(sig) == \(number)")
        case .port(let port, let direction):
            let source = field(["sport", "lport", "source_port"])
            let destination = field(["dport", "destination_port"])
            switch direction {
            case .destination:
                guard let destination else { return .failure(Unassertable(reason: "the probe has no destination-port field")) }
                return .success("args->\(destination) == \(port)")
            case .source:
                guard let source else { return .failure(Unassertable(reason: "the probe has no source-port field")) }
                return .success("args->\(source) == \(port)")
            case .either:
                guard let source, let destination else {
                    return .failure(Unassertable(reason: "the probe has no source and destination port fields"))
                }
                return .success("args->\(source) == \(port) || args->\(destination) == \(port)")
            }
        case .minimumBytes(let bytes, let inclusive):
            let sizes = (fields ?? []).intersection(["len", "size", "length", "count", "nbytes", "bytes"])
            guard sizes.count == 1, let size = sizes.first else {
                return .failure(Unassertable(reason: sizes.isEmpty ? "the probe has no size field"
                                                                   : "the probe has several size fields (\(sizes.sorted().joined(separator: ", ")))"))
            }
            return .success("args->\(size) \(inclusive ? ">=" : ">") \(bytes)")
        case .minimumDuration:
            return .failure(Unassertable(reason: "which value is the duration is the program's choice, so it is not asserted"))
        case .path:
            return .failure(Unassertable(reason: "a path is read from user memory, which another thread can change between two reads, so an assert that reads it again cannot be proven"))
        }
    }

    /// Probes that run on behalf of a task (so comm, pid and uid are the task's).
    static func isTaskContext(_ probe: Probe) -> Bool {
        let taskKinds: Set<ProbeKind> = [.tracepoint, .rawtracepoint, .kprobe, .kretprobe, .fentry, .fexit,
                                          .uprobe, .uretprobe, .usdt]
        return !probe.attachPoints.isEmpty && probe.attachPoints.allSatisfy { taskKinds.contains($0.kind) }
    }

    static let outputCalls: Set<String> = ["printf", "print", "cat", "system", "signal", "override", "join", "time"]

    static func isOutput(_ statement: Statement) -> Bool {
        switch statement.kind {
        case .expression(let expression):
            switch expression.kind {
            case .call(let name, _): return outputCalls.contains(name)
            case .incrementDecrement(_, _, let target):
                if case .map = target.kind { return true }
                return false
            default: return false
            }
        case .assignment(let target, _, _):
            if case .map = target.kind { return true }
            return false
        default:
            return false
        }
    }

    static func hasOutput(_ block: Block) -> Bool {
        block.statements.contains { statement in
            if isOutput(statement) { return true }
            return children(statement).contains(where: hasOutput)
        }
    }

    static func children(_ statement: Statement) -> [Block] {
        switch statement.kind {
        case let .ifStatement(_, then, otherwise): return [then] + (otherwise.map { [$0] } ?? [])
        case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body), let .forRange(_, _, _, body):
            return [body]
        case let .block(body): return [body]
        default: return []
        }
    }

    /// The block with `asserts` before each output statement, at every depth.
    static func insert(_ asserts: [Statement], before block: Block) -> Block {
        var out = block
        out.statements = []
        for statement in block.statements {
            if isOutput(statement) {
                out.statements += asserts
                out.statements.append(statement)
                continue
            }
            var copy = statement
            switch statement.kind {
            case let .ifStatement(condition, then, otherwise):
                copy.kind = .ifStatement(condition: condition, then: insert(asserts, before: then),
                                         else: otherwise.map { insert(asserts, before: $0) })
            case let .unroll(count, body): copy.kind = .unroll(count: count, body: insert(asserts, before: body))
            case let .whileLoop(condition, body): copy.kind = .whileLoop(condition: condition, body: insert(asserts, before: body))
            case let .forMap(variable, map, body): copy.kind = .forMap(variable: variable, map: map, body: insert(asserts, before: body))
            case let .forRange(variable, start, end, body):
                copy.kind = .forRange(variable: variable, start: start, end: end, body: insert(asserts, before: body))
            case let .block(body): copy.kind = .block(insert(asserts, before: body))
            default: break
            }
            out.statements.append(copy)
        }
        return out
    }
}
