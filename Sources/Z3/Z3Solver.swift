import CZ3

/// The answer to one satisfiability query.
public enum Z3CheckResult {
    case satisfiable(Z3Model)
    case unsatisfiable
    /// Z3 gave up; `reason` is its own word for why ("timeout", "canceled", "incomplete ...").
    case unknown(reason: String)
}

/// A Z3 solver with its own timeout. Not `Sendable` (see `Z3Context`).
public final class Z3Solver {
    /// Which of Z3's solvers to use.
    public enum Kind: Sendable {
        /// Z3's default: picks a tactic from the formula (strong on hard bit-vector queries, but
        /// with a noticeable start-up cost per query).
        case general
        /// The plain incremental SMT core: cheapest to start, good for many small queries.
        case simple
        /// A solver specialised for an SMT-LIB logic such as "QF_BV" or "QF_ABV".
        case logic(String)
    }

    let context: Z3Context
    let raw: Z3_solver

    /// - Parameter timeoutMilliseconds: per-`check` limit; `nil` means no limit.
    public init(context: Z3Context, timeoutMilliseconds: UInt32? = nil, kind: Kind = .general) throws(Z3Error) {
        self.context = context
        let made: Z3_solver?
        switch kind {
        case .general: made = Z3_mk_solver(context.raw)
        case .simple: made = Z3_mk_simple_solver(context.raw)
        case let .logic(name): made = Z3_mk_solver_for_logic(context.raw, context.symbol(name))
        }
        guard let solver = made else {
            context.noteError("mk_solver")
            throw context.error ?? .api(operation: "mk_solver", message: "no solver")
        }
        raw = solver
        Z3_solver_inc_ref(context.raw, solver)
        if let timeoutMilliseconds {
            let params = Z3_mk_params(context.raw)
            Z3_params_inc_ref(context.raw, params)
            Z3_params_set_uint(context.raw, params, context.symbol("timeout"), timeoutMilliseconds)
            Z3_solver_set_params(context.raw, solver, params)
            Z3_params_dec_ref(context.raw, params)
        }
        if context.noteError("solver_set_params") { try context.throwIfFailed() }
    }

    deinit {
        Z3_solver_dec_ref(context.raw, raw)
    }

    public func add(_ constraint: Z3Bool) {
        Z3_solver_assert(context.raw, raw, constraint.node.ast)
        context.noteError("solver_assert")
    }

    public func push() {
        Z3_solver_push(context.raw, raw)
        context.noteError("solver_push")
    }

    public func pop() {
        Z3_solver_pop(context.raw, raw, 1)
        context.noteError("solver_pop")
    }

    /// Decides the conjunction of everything added. Throws if any term of the context was built
    /// wrongly, so a malformed query is never reported as an answer.
    public func check() throws(Z3Error) -> Z3CheckResult {
        try context.throwIfFailed()
        let answer = Z3_solver_check(context.raw, raw)
        // A timeout is reported as L_UNDEF with reason "timeout", not as an error code.
        if context.noteError("solver_check") { try context.throwIfFailed() }
        if answer == Z3_L_FALSE { return .unsatisfiable }
        if answer == Z3_L_TRUE {
            guard let model = Z3_solver_get_model(context.raw, raw) else {
                context.noteError("solver_get_model")
                try context.throwIfFailed()
                return .unknown(reason: "no model")
            }
            return .satisfiable(Z3Model(context: context, raw: model))
        }
        let reason = Z3_solver_get_reason_unknown(context.raw, raw).map { String(cString: $0) } ?? "unknown"
        return .unknown(reason: reason)
    }
}
