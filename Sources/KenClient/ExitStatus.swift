import KenProto

/// Every status kenc exits with, in one place, so scripts can tell "not found" from "not
/// allowed" from "the daemon is down" without parsing messages, and no subcommand invents a
/// number of its own.
///
/// Most commands use the common statuses 0–5. Two commands follow a convention of their own,
/// and their cases say so: `verify` tells a violated assert from an undecided one from a
/// program that does not resolve, and `apply` reports changed/failed as Puppet's
/// `--detailed-exitcodes` do, which configuration management tools read.
public enum KencExit: Error, Sendable, Equatable {
    /// 0.
    case success
    /// 1: the command ran and the answer is no (diagnostics, not verified, rejected).
    case failure
    /// 2: bad arguments, or an input file that cannot be read.
    case usage
    /// 3: no such extension, task or example.
    case notFound
    /// 4: the daemon's policy refused the caller.
    case permissionDenied
    /// 5: the daemon is not running or does not answer.
    case unreachable
    /// `verify` 1: an assert is violated (a counterexample is shown).
    case violated
    /// `verify` 2: no verdict (solver timeout, unsupported construct); shares 2 with `usage`:
    /// both mean no verdict was reached, the message says why.
    case undecided
    /// `verify` 3: the program does not parse or resolve.
    case doesNotResolve
    /// `apply`: 0 nothing changed, 2 changed, 4 failed, 6 changed and failed.
    case applied(changed: Bool, failed: Bool)
    /// `apply` 1: the manifests could not be read (2 means "changed" to apply's callers).
    case manifestsUnreadable

    /// The number the process exits with.
    public var status: Int32 {
        switch self {
        case .success: 0
        case .failure, .violated, .manifestsUnreadable: 1
        case .usage, .undecided: 2
        case .notFound, .doesNotResolve: 3
        case .permissionDenied: 4
        case .unreachable: 5
        case .applied(let changed, let failed): (changed ? 2 : 0) | (failed ? 4 : 0)
        }
    }

    /// The status for a daemon's answer with `code`.
    public init(code: Ken_V1_Code) {
        switch code {
        case .ok: self = .success
        case .invalidArgument: self = .usage
        case .notFound: self = .notFound
        case .permissionDenied: self = .permissionDenied
        default: self = .failure
        }
    }
}
