import BpftraceSyntax
import Z3

/// How control leaves the statements executed so far on one path.
enum ControlFlow {
    case normal, breakLoop, continueLoop, returned
}

/// One branch decision on a path, for the counterexample trace.
struct BranchDecision {
    var location: SourceLocation
    var condition: String
    var taken: Bool
    /// "if", "while", "predicate", "?:", "&&", "||".
    var construct: String
}

/// Why a path cannot be trusted to prove anything.
struct Unsupported {
    var what: String
    var location: SourceLocation
}

/// Everything one symbolic path carries. A value type: forking a path is copying it.
struct PathState {
    var variables: [String: SymbolicValue] = [:]
    /// Current contents of each map touched in this run (initial unknown array plus stores).
    var maps: [String: Z3Array] = [:]
    /// Branch conditions (including the probe predicate) that hold on this path.
    var conditions: [Z3Bool] = []
    /// `assume(E)` facts met on this path, kept apart from `conditions` for the vacuity checks.
    var assumptions: [Z3Bool] = []
    var assumeExpressions: [Expression] = []
    var decisions: [BranchDecision] = []
    var unsupported: [Unsupported] = []
    /// Indices into the run's `events` met on this path (interleavings, full maps, re-reads).
    var events: [Int] = []
    /// This path's last access to each map, for counterexample wording.
    var lastMapAccess: [String: MapAccess] = [:]
    var control: ControlFlow = .normal
}
