/// Limits of one verification. Defaults follow the issue: 10 s per solver query.
public struct VerificationOptions: Sendable, Hashable {
    /// Wall-clock limit of one solver query; a query that hits it makes its assert UNKNOWN.
    public var queryTimeout: Duration
    /// Wall-clock limit of the whole verification; asserts not decided by then are UNKNOWN.
    public var totalBudget: Duration
    /// How many iterations of a `while` (or symbolic-range `for`) loop are explored. A loop that
    /// may run longer makes every assert it can reach UNKNOWN, never VERIFIED.
    public var loopBound: Int
    /// Paths explored per probe before giving up on that probe (its asserts become UNKNOWN).
    public var maxPaths: Int
    /// Above this many paths after a statement, paths are merged into one state (exact, but the
    /// counterexample then lists only the branches the merged paths share).
    public var mergeThreshold: Int
    /// What a field whose type was not resolved (no kernel types) means; see `UntypedFields`.
    public var untypedFields: UntypedFields

    /// A field without a resolved type is read as 64 bits; what that may prove.
    public enum UntypedFields: Sendable, Hashable {
        /// Sound: wherever its width or signedness matters (an ordering comparison, `-`, `~`,
        /// `bswap`, reassigning a variable that holds it) the path is UNKNOWN, with the reason.
        case unknownWhereTheyMatter
        /// Read as uint64 everywhere. Only for tests of other rules that write untyped fields.
        case assumeUInt64
    }

    public init(queryTimeout: Duration = .seconds(10), totalBudget: Duration = .seconds(60),
                loopBound: Int = 16, maxPaths: Int = 512, mergeThreshold: Int = 32,
                untypedFields: UntypedFields = .unknownWhereTheyMatter) {
        self.untypedFields = untypedFields
        self.queryTimeout = queryTimeout
        self.totalBudget = totalBudget
        self.loopBound = max(0, loopBound)
        self.maxPaths = max(1, maxPaths)
        self.mergeThreshold = max(1, mergeThreshold)
    }
}
