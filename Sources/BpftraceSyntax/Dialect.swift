/// A bpftrace release, e.g. 0.17.0. Ordering is by (major, minor, patch).
public struct BpftraceVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `bpftrace --version` output (`bpftrace v0.17.0`, `bpftrace v0.21.2-12-gabc`,
    /// `v0.26.0`, `0.24`). Returns nil if no `MAJOR.MINOR` number is found.
    public init?(versionOutput: String) {
        var numbers: [Int] = []
        var current: Int? = nil
        var started = false
        for byte in versionOutput.utf8 {
            if byte >= 0x30 && byte <= 0x39 {
                let digit = Int(byte - 0x30)
                let next = (current ?? 0).multipliedReportingOverflow(by: 10)
                guard !next.overflow else { return nil }
                current = next.partialValue + digit
                started = true
            } else if byte == UInt8(ascii: "."), let value = current {
                numbers.append(value)
                current = nil
                if numbers.count == 3 { break }
            } else if started {
                if let value = current { numbers.append(value) }
                current = nil
                if numbers.count >= 2 { break }
                // A lone number (e.g. a word like "x86_64") is not a version: start over.
                numbers.removeAll()
                started = false
            }
        }
        if let value = current, numbers.count < 3 { numbers.append(value) }
        guard numbers.count >= 2 else { return nil }
        self.init(numbers[0], numbers[1], numbers.count > 2 ? numbers[2] : 0)
    }

    public static func < (lhs: BpftraceVersion, rhs: BpftraceVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}

/// Language features that appeared after 0.17, with the release that introduced them
/// (from bpftrace's CHANGELOG). Used to decide what lowering must rewrite.
public enum BpftraceFeature: String, Sendable, Hashable, CaseIterable {
    /// `args.field` (args became a struct in 0.19; before, only `args->field`).
    case argsStruct
    /// Casts to integer arrays such as `(uint8[4])x` (0.19).
    case arrayCasts
    /// Short integer type names `u8`…`u64`, `i8`…`i64` (0.22, with typed `let`); older
    /// releases only know `uint8`…`int64`.
    case shortIntegerTypeNames
    /// `fentry:` / `fexit:` spellings of kfunc/kretfunc (0.20).
    case fentryNames
    /// `config = { … }` block (0.20).
    case configBlock
    /// `for ($kv : @map)` (0.21).
    case forMapLoop
    /// Block scoping and `let` declarations (0.22).
    case letDeclarations
    /// `offsetof(struct T, a.b)` sub-fields (0.23).
    case offsetofSubfields
    /// `for ($i : a..b)` (0.24).
    case forRangeLoop
    /// `true` / `false` (0.24).
    case booleanLiterals
    /// `1s`, `100ms`, … (0.24).
    case durationLiterals
    /// `comm()`-style calls of builtins (0.24).
    case builtinCalls
    /// Case-insensitive providers such as `begin` / `end` (0.24).
    case lowercaseProviders
    /// `break` / `continue` in loops (for loops: 0.24; while loops had them earlier).
    case forLoopBreakContinue
    /// `.` auto-dereferences pointers (0.25); earlier versions need `->`.
    case autoDereference
    /// More than one `BEGIN`/`END` probe in a program (0.25).
    case multipleBeginEnd
    /// `let @m = hash(N);` map declarations (0.25; 0.24 only behind an unstable flag).
    case mapDeclarations
    /// The address-of operator `&` (0.26; earlier only behind an unstable flag).
    case addressOf

    public var introducedIn: BpftraceVersion {
        switch self {
        case .argsStruct, .arrayCasts: return BpftraceVersion(0, 19)
        case .fentryNames, .configBlock: return BpftraceVersion(0, 20)
        case .forMapLoop: return BpftraceVersion(0, 21)
        case .letDeclarations, .shortIntegerTypeNames: return BpftraceVersion(0, 22)
        case .offsetofSubfields: return BpftraceVersion(0, 23)
        case .forRangeLoop, .booleanLiterals, .durationLiterals, .builtinCalls,
             .lowercaseProviders, .forLoopBreakContinue:
            return BpftraceVersion(0, 24)
        case .autoDereference, .multipleBeginEnd, .mapDeclarations: return BpftraceVersion(0, 25)
        case .addressOf: return BpftraceVersion(0, 26)
        }
    }
}

/// The bpftrace language accepted by one release; printing and lowering target a dialect.
public struct BpftraceDialect: Sendable, Hashable, CustomStringConvertible {
    public var version: BpftraceVersion

    public init(version: BpftraceVersion) {
        self.version = version
    }

    /// From `bpftrace --version` output; nil if it holds no version.
    public init?(versionOutput: String) {
        guard let version = BpftraceVersion(versionOutput: versionOutput) else { return nil }
        self.version = version
    }

    /// The oldest release Ken supports (Debian 12's bpftrace).
    public static let v0_17 = BpftraceDialect(version: BpftraceVersion(0, 17))
    /// The newest release whose syntax Ken knows.
    public static let latest = BpftraceDialect(version: BpftraceVersion(0, 26))

    public func supports(_ feature: BpftraceFeature) -> Bool {
        version >= feature.introducedIn
    }

    public var description: String { "bpftrace \(version)" }
}
