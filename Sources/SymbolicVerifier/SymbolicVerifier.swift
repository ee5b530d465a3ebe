import BpftraceSyntax
import Z3

/// Proves a program's `assert`s by symbolic execution of each probe body over Z3 bit-vectors.
///
/// Each probe is run on its own, from an unknown world: builtins, fields, and map contents are
/// symbols constrained only by their types, the probe's predicate and the `assume`s. Every path
/// to every assert is checked; a verdict of VERIFIED means the solver proved it on all of them,
/// and anything the verifier cannot model on such a path makes it UNKNOWN instead.
///
/// The model, in short (docs/semantics.md states it in full; details next to the code that
/// implements each part):
/// - Integers are bit-vectors of their bpftrace width; operands are widened to 64 bits by their
///   own signedness; comparisons are signed only when both sides are; `/` `%` are unsigned with
///   x/0 = 0 and x%0 = x; `>>` is logical; unary `-`/`~` keep the operand's width. These rules
///   are checked against the installed bpftrace by `BpftraceOracleTests`.
/// - Strings are byte vectors, NUL-terminated and zero after the NUL, so `==` compares content.
/// - pid, tid, uid, gid, cpu, comm, retval, argN and `args` fields are fixed for one run; nsecs,
///   rand, elapsed, jiffies, and every read of memory behind a pointer (`str(p)`, `p->f`, `*p`:
///   another thread or CPU may write it, the read may fault) are fresh at each read. A
///   `$variable` never assigned in the probe is a ghost: an arbitrary value fixed for the run,
///   for annotations to name (e.g. `$port`). Without kernel types a field's width and
///   signedness are unknown, and UNKNOWN where they matter (`UntypedValues`).
/// - Maps are SMT arrays: unknown at probe start, updated by this run's writes; a read may see
///   a concurrent writer's store (`MapWriters`, `interfered`) and an insert into a map that may
///   be full may not take effect (`storedUnlessFull`).
/// - `if` forks paths (merged past `mergeThreshold`); `unroll` and constant `for` ranges are
///   unrolled; `while` is unrolled up to `loopBound` and a path that could go on is UNKNOWN.
/// - `assume(E)` constrains the path; `assert(E)` is VIOLATED when path ∧ assumes ∧ ¬E is
///   satisfiable. Asserts that hold whatever the program does are flagged `vacuous`, and a
///   program whose asserts are all vacuous (or that has none) is UNKNOWN overall.
public struct SymbolicVerifier: Sendable {
    public var options: VerificationOptions

    public init(options: VerificationOptions = VerificationOptions()) {
        self.options = options
    }

    /// Verifies a parsed (and ideally resolved) program. Synchronous and CPU-bound; it checks
    /// task cancellation between solver queries.
    public func verify(_ program: Program, prompt: String? = nil) -> VerificationResult {
        run(program, prompt: prompt, relay: nil)
    }

    /// Like `verify`, for async callers: cancelling the calling task interrupts the solver query
    /// that is running and leaves the undecided asserts UNKNOWN ("verification cancelled").
    public func verifyCancellable(_ program: Program, prompt: String? = nil) async -> VerificationResult {
        let relay = CancellationRelay()
        return await withTaskCancellationHandler {
            run(program, prompt: prompt, relay: relay)
        } onCancel: {
            relay.cancel()
        }
    }

    func run(_ program: Program, prompt: String?, relay: CancellationRelay?) -> VerificationResult {
        let program = Self.distinctAssertLocations(program)
        let context: Z3Context
        do {
            context = try Z3Context()
            relay?.attach(context.interrupter)
        } catch {
            return VerificationResult(verdict: .unknown, asserts: [],
                                      warnings: [VerificationWarning(position: nil, message: "\(error)")],
                                      notes: [], timings: VerificationTimings(totalMilliseconds: 0,
                                                                              solverMilliseconds: 0, queries: 0),
                                      prompt: prompt)
        }
        let session = Session(context: context, options: options)
        let types = StaticTypes(program: program)
        var results: [AssertResult] = []
        let constants = NamedConstants.abi.merging(NamedConstants.defines(in: program)) { _, defined in defined }
        let writers = MapWriters(program: program, constants: constants)
        let untyped = UntypedValues(program: program, enabled: options.untypedFields == .unknownWhereTheyMatter)

        for (index, probe) in program.probes.enumerated() {
            let probeName = probe.attachPoints.map(\.text).joined(separator: ",")
            let run = ProbeRun(context: context, probeIndex: index, probeName: probeName, options: options,
                               mapShapes: types.maps, staticTypes: types, session: session,
                               constants: constants, writers: writers,
                               probeKinds: probe.attachPoints.map(\.kind), untyped: untyped)
            var start = PathState()
            if let predicate = probe.predicate {
                let holds = run.truth(predicate, &start)
                start.conditions.append(holds)
                start.decisions.append(BranchDecision(location: predicate.range.start,
                                                      condition: ExpressionText.render(predicate), taken: true,
                                                      construct: "predicate"))
            }
            _ = run.execute(probe.body, [start])
            for (statement, expression, message) in Self.asserts(in: probe.body) {
                results.append(finish(statement, expression, message, run: run, session: session))
            }
        }

        let verdict = overallVerdict(results, session: session)
        return VerificationResult(
            verdict: verdict, asserts: results, warnings: session.warnings, notes: session.notes,
            timings: VerificationTimings(totalMilliseconds: session.totalMilliseconds,
                                         solverMilliseconds: session.solverMilliseconds,
                                         queries: session.queries),
            prompt: prompt)
    }

    private func finish(_ statement: Statement, _ expression: Expression, _ message: String?,
                        run: ProbeRun, session: Session) -> AssertResult {
        let location = statement.range.start
        let position = ProbeRun.position(location)
        var text = "assert(" + ExpressionText.render(expression)
        if let message { text += ", \"" + ExpressionText.escape(message) + "\"" }
        text += ")"
        var result = AssertResult(position: position, probe: run.probeName, text: text, message: message,
                                  verdict: .unknown, reason: nil, counterexample: nil, vacuous: false,
                                  pathsChecked: 0)
        let outcome = run.decide(location)
        result.pathsChecked = outcome.pathsReached
        if let violation = outcome.violation {
            result.verdict = .violated
            result.counterexample = violation
            return result
        }
        if let reason = outcome.unknownReason ?? run.incompleteAsserts[location] ?? run.truncation {
            result.reason = reason
            return result
        }
        guard let representative = outcome.representative else {
            if outcome.excludedByAssumes {
                result.reason = "vacuous: the assumes make every path to this assert impossible"
                session.warn("the assumes contradict the paths to \(text): it holds only vacuously", at: position)
            } else if outcome.pathsReached == 0 {
                result.reason = "no path reaches this assert"
                session.warn("\(text) is unreachable", at: position)
            } else {
                result.reason = "no feasible path reaches this assert"
                session.warn("\(text) is reached by no feasible path (predicate and branches exclude it)",
                             at: position)
            }
            return result
        }
        result.verdict = .verified
        if let reason = run.vacuity(of: expression, representative: representative) {
            result.vacuous = true
            result.reason = reason
            session.warn("\(text): \(reason); it proves nothing about the program", at: position)
        }
        return result
    }

    /// VIOLATED if any assert is; else UNKNOWN if any is, if there is no assert, or if every
    /// assert is vacuous (so empty annotations cannot make a program pass); else VERIFIED.
    private func overallVerdict(_ results: [AssertResult], session: Session) -> Verdict {
        if results.contains(where: { $0.verdict == .violated }) { return .violated }
        if results.contains(where: { $0.verdict == .unknown }) { return .unknown }
        if results.isEmpty {
            session.warn("the program has no assert: nothing was proven", at: nil)
            return .unknown
        }
        if results.allSatisfy(\.vacuous) {
            session.warn("every assert is vacuous: nothing about the program was proven", at: nil)
            return .unknown
        }
        return .verified
    }

    /// Asserts are tracked by their source location; a tree built by a tool may have none
    /// (`.unknown`) or repeat one, so such asserts get distinct (negative, never real) offsets.
    static func distinctAssertLocations(_ program: Program) -> Program {
        final class Seen {
            var offsets: Set<Int> = []
            var next = -1
        }
        let seen = Seen()
        return TreeTransform(statement: { statement in
            guard case .assert = statement.kind else { return [statement] }
            var copy = statement
            if !seen.offsets.insert(statement.range.start.offset).inserted || statement.range == .unknown {
                copy.range.start.offset = seen.next
                seen.next -= 1
            }
            return [copy]
        }).apply(program)
    }

    static func asserts(in block: Block) -> [(Statement, Expression, String?)] {
        var found: [(Statement, Expression, String?)] = []
        for statement in block.statements {
            switch statement.kind {
            case let .assert(expression, message):
                found.append((statement, expression, message))
            case let .ifStatement(_, then, otherwise):
                found += asserts(in: then)
                if let otherwise { found += asserts(in: otherwise) }
            case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                 let .forRange(_, _, _, body), let .block(body):
                found += asserts(in: body)
            default:
                break
            }
        }
        return found
    }
}
