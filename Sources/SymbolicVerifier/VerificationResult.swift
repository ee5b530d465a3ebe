import BpftraceSyntax
import Foundation

/// The outcome for one assert or for a whole program.
public enum Verdict: String, Codable, Sendable, Hashable {
    /// Proven on every path that reaches it.
    case verified = "VERIFIED"
    /// A path and inputs exist on which it fails; see the counterexample.
    case violated = "VIOLATED"
    /// Not decided: timeout, unsupported construct, loop bound, vacuity. Never a pass.
    case unknown = "UNKNOWN"
}

/// A position in the program, as `FILE:LINE:COL`.
public struct SourcePosition: Codable, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One branch decision on the failing path.
public struct PathStep: Codable, Sendable, Hashable {
    public var position: SourcePosition
    /// "predicate", "if", "while", "?:", "&&", "||".
    public var construct: String
    /// The condition as written.
    public var condition: String
    /// Whether the condition held on this path.
    public var taken: Bool
}

/// One value in a counterexample, named as the program names it (`pid`, `args->dport`, `$x`).
public struct ModelValue: Codable, Sendable, Hashable {
    public var name: String
    /// Rendered for people: `1234`, `20480 (0x5000)`, `"bash"`.
    public var value: String
}

/// The counterexample of a violated assert.
public struct Counterexample: Codable, Sendable, Hashable {
    public var path: [PathStep]
    public var values: [ModelValue]
    /// What other runs, full maps or changing memory do in this counterexample, in words
    /// ("another probe (…) may store 2 to @x (at 7:3) between the write at 3:5 and the read at
    /// 3:12"): what the user must change for the assert to hold.
    public var interleaving: [String]
}

public struct AssertResult: Codable, Sendable, Hashable {
    public var position: SourcePosition
    /// The probe's attach points, e.g. `tracepoint:syscalls:sys_enter_openat`.
    public var probe: String
    /// `assert(EXPR)` or `assert(EXPR, "msg")` as written.
    public var text: String
    public var message: String?
    public var verdict: Verdict
    /// Why the verdict is UNKNOWN (or why a VERIFIED proves nothing), when it is.
    public var reason: String?
    /// Present when VIOLATED.
    public var counterexample: Counterexample?
    /// True when the assert holds regardless of the program (tautology or implied by the
    /// assumes alone), so proving it says nothing about the program.
    public var vacuous: Bool
    /// Symbolic paths that reached the assert.
    public var pathsChecked: Int
}

public struct VerificationWarning: Codable, Sendable, Hashable {
    public var position: SourcePosition?
    public var message: String
    /// The fix, when the warning knows one (`print bswap($dport) for the host-order port`).
    public var hint: String?
}

extension VerificationWarning {
    /// A front-end style diagnostic (Ken's kernel-value checks) as a verifier warning.
    init(diagnostic: Diagnostic) {
        let start = diagnostic.range.start
        self.init(position: SourcePosition(file: start.file, line: start.line, column: start.column),
                  message: diagnostic.message, hint: diagnostic.hint)
    }
}

public struct VerificationTimings: Codable, Sendable, Hashable {
    public var totalMilliseconds: Double
    public var solverMilliseconds: Double
    public var queries: Int
}

/// Everything the verifier found about one program.
public struct VerificationResult: Codable, Sendable, Hashable {
    public var verdict: Verdict
    public var asserts: [AssertResult]
    /// Vacuity findings and other reasons to distrust a pass.
    public var warnings: [VerificationWarning]
    /// Modelling choices made where types were missing or values were over-approximated.
    public var notes: [String]
    public var timings: VerificationTimings
    /// The user's request the program was made for, when given (recorded, not interpreted).
    public var prompt: String?

    /// The process exit status `kenc verify` uses: 0 VERIFIED, 1 VIOLATED, 2 UNKNOWN.
    public var exitCode: Int32 {
        switch verdict {
        case .verified: return 0
        case .violated: return 1
        case .unknown: return 2
        }
    }

    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }
}
