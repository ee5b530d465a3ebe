/// Errors raised by the Z3 wrapper.
///
/// Z3 reports misuse (a sort mismatch, an out-of-range extract) through an error code on the
/// context rather than by aborting, because the wrapper disables Z3's default handler (which
/// would terminate the process). Term construction cannot throw without making every
/// expression builder noisy, so the first error is remembered on the context and surfaced by the
/// next `check` — a broken query is never answered.
public enum Z3Error: Error, Equatable, CustomStringConvertible {
    /// `Z3_mk_context_rc` returned no context.
    case contextCreationFailed
    /// Z3 reported an error code while building or solving; `operation` names the call.
    case api(operation: String, message: String)

    public var description: String {
        switch self {
        case .contextCreationFailed:
            return "Z3: could not create a context"
        case let .api(operation, message):
            return "Z3 error in \(operation): \(message)"
        }
    }
}
