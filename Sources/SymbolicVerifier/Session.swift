import BpftraceSyntax
import Z3

/// The state of one verification shared by all probes: the solver budget, statistics, notes.
/// Confined to the task running `SymbolicVerifier.verify` (not Sendable, holds the Z3 context).
final class Session {
    let context: Z3Context
    let options: VerificationOptions
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private(set) var solverTime: Duration = .zero
    private(set) var queries = 0
    private(set) var notes: [String] = []
    private var noteSet: Set<String> = []
    var warnings: [VerificationWarning] = []
    /// The paths that reached each assert, keyed by the assert statement's location.
    var reaches: [SourceLocation: [AssertReach]] = [:]

    init(context: Z3Context, options: VerificationOptions) {
        self.context = context
        self.options = options
        start = clock.now
    }

    func note(_ text: String) {
        if noteSet.insert(text).inserted { notes.append(text) }
    }

    func warn(_ message: String, at position: SourcePosition?) {
        let warning = VerificationWarning(position: position, message: message)
        if !warnings.contains(warning) { warnings.append(warning) }
    }

    var elapsed: Duration { clock.now - start }

    enum Answer {
        case satisfiable(Z3Model)
        case unsatisfiable
        case unknown(String)
    }

    /// How long the cheap solver gets before the query goes to Z3's general solver.
    static let quickAttempt: Duration = .milliseconds(40)

    /// Decides whether `constraints` can all hold, within the per-query timeout and what is left
    /// of the total budget.
    ///
    /// Two stages: Z3's plain SMT core starts in well under a millisecond and settles most of
    /// the verifier's small queries; the general solver (bit-blasting tactics, slow to start but
    /// strong on multiplication and division) gets whatever the first stage could not decide.
    func solve(_ constraints: [Z3Bool]) -> Answer {
        if Task.isCancelled { return .unknown("verification cancelled") }
        let remaining = options.totalBudget - elapsed
        guard remaining > .zero else {
            return .unknown("total verification budget of \(Self.describe(options.totalBudget)) exhausted")
        }
        let limit = min(options.queryTimeout, remaining)
        let began = clock.now
        defer {
            solverTime += clock.now - began
            queries += 1
        }
        let quick = min(limit, Self.quickAttempt)
        var answer = attempt(constraints, kind: .simple, limit: quick)
        if case .unknown = answer {
            let rest = limit - (clock.now - began)
            if rest > .zero {
                answer = attempt(constraints, kind: .general, limit: rest)
            }
        }
        if case .unknown(Self.timeoutMarker) = answer {
            return .unknown("solver timeout after \(Self.describe(limit))")
        }
        return answer
    }

    private static let timeoutMarker = "timeout"

    private func attempt(_ constraints: [Z3Bool], kind: Z3Solver.Kind, limit: Duration) -> Answer {
        let milliseconds = UInt32(clamping: max(1, Self.milliseconds(limit)))
        do {
            let solver = try Z3Solver(context: context, timeoutMilliseconds: milliseconds, kind: kind)
            for constraint in constraints { solver.add(constraint) }
            switch try solver.check() {
            case let .satisfiable(model): return .satisfiable(model)
            case .unsatisfiable: return .unsatisfiable
            case let .unknown(reason):
                if Task.isCancelled { return .unknown("verification cancelled") }
                if reason.contains("timeout") || reason.contains("canceled") { return .unknown(Self.timeoutMarker) }
                return .unknown("solver gave up: \(reason)")
            }
        } catch {
            return .unknown("solver error: \(error)")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }

    static func describe(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }

    var totalMilliseconds: Double { Double(Self.milliseconds(elapsed)) + Double(elapsed.components.attoseconds % 1_000_000_000_000_000) / 1e15 }
    var solverMilliseconds: Double {
        Double(Self.milliseconds(solverTime)) + Double(solverTime.components.attoseconds % 1_000_000_000_000_000) / 1e15
    }
}
