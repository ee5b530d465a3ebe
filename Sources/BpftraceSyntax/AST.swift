/// The typed syntax tree of a bpftrace program (dialects 0.17 through 0.26, plus Ken's
/// `assume`/`assert` annotations). Every node is a value type: passes return new trees rather
/// than mutating shared ones, which keeps them Sendable and easy to compare in tests.
///
/// Names are stored without sigils: `$x` is `.variable("x")`, `@m` is `.map(name: "m", …)`,
/// the anonymous map `@` has the empty name.

// MARK: - Program

public struct Program: Sendable, Hashable {
    /// The `#!` line without the trailing newline, if the file had one.
    public var shebang: String?
    /// `#include`/`#define` lines and C type definitions, in source order.
    public var preamble: [PreambleItem]
    /// The `config = { … }` block (bpftrace 0.20+).
    public var config: ConfigBlock?
    /// `let @name = hash(N);` declarations (bpftrace 0.25; 0.24 behind a flag).
    public var mapDeclarations: [MapDeclaration]
    public var probes: [Probe]
    public var range: SourceRange

    public init(shebang: String? = nil, preamble: [PreambleItem] = [], config: ConfigBlock? = nil,
                mapDeclarations: [MapDeclaration] = [], probes: [Probe] = [], range: SourceRange = .unknown) {
        self.shebang = shebang
        self.preamble = preamble
        self.config = config
        self.mapDeclarations = mapDeclarations
        self.probes = probes
        self.range = range
    }
}

/// `let @name = TYPE(MAX_ENTRIES);` — chooses the BPF map type and size of one map.
public struct MapDeclaration: Sendable, Hashable {
    /// Map name without `@`.
    public var name: String
    /// `hash`, `lruhash`, `percpuhash`, `percpulruhash`, … as written.
    public var mapType: String
    /// The declared maximum number of entries (an integer literal).
    public var maxEntries: IntegerLiteral
    public var range: SourceRange

    public init(name: String, mapType: String, maxEntries: IntegerLiteral, range: SourceRange = .unknown) {
        self.name = name
        self.mapType = mapType
        self.maxEntries = maxEntries
        self.range = range
    }
}

/// A preamble item is kept as verbatim C text: bpftrace hands it to clang, and Ken never
/// needs to understand it beyond the name it defines.
public struct PreambleItem: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case include, define
        /// Any other preprocessor line (`#ifdef`, `#endif`, `#undef`, …).
        case preprocessor
        case structDefinition, unionDefinition, enumDefinition, typedef
    }

    public var kind: Kind
    /// Defined name: macro name for `#define`, tag for struct/union/enum (without keyword),
    /// header (e.g. `<linux/sched.h>`) for `#include`; nil when there is none.
    public var name: String?
    /// The exact text: the whole line for preprocessor items (no newline), the full
    /// definition through its `;` for C definitions.
    public var text: String
    public var range: SourceRange

    public init(kind: Kind, name: String?, text: String, range: SourceRange = .unknown) {
        self.kind = kind
        self.name = name
        self.text = text
        self.range = range
    }
}

/// `config = { key = value; … }` (bpftrace 0.20+).
public struct ConfigBlock: Sendable, Hashable {
    public var entries: [ConfigEntry]
    public var range: SourceRange

    public init(entries: [ConfigEntry], range: SourceRange = .unknown) {
        self.entries = entries
        self.range = range
    }
}

public struct ConfigEntry: Sendable, Hashable {
    public var key: String
    /// An integer, string, boolean or bare identifier (e.g. `stack_mode = perf`).
    public var value: Expression
    public var range: SourceRange

    public init(key: String, value: Expression, range: SourceRange = .unknown) {
        self.key = key
        self.value = value
        self.range = range
    }
}

// MARK: - Probes

public struct Probe: Sendable, Hashable {
    public var attachPoints: [AttachPoint]
    /// The `/ … /` filter.
    public var predicate: Expression?
    public var body: Block
    public var range: SourceRange

    public init(attachPoints: [AttachPoint], predicate: Expression? = nil, body: Block,
                range: SourceRange = .unknown) {
        self.attachPoints = attachPoints
        self.predicate = predicate
        self.body = body
        self.range = range
    }
}

/// The kind of a probe, independent of which spelling (`kprobe`, `k`, `kfunc`, `fentry`, …)
/// was used.
public enum ProbeKind: String, Sendable, Hashable, CaseIterable {
    case begin, end
    case tracepoint, rawtracepoint
    case kprobe, kretprobe
    /// `kfunc` / `fentry` / `f`.
    case fentry
    /// `kretfunc` / `fexit` / `fr`.
    case fexit
    case uprobe, uretprobe, usdt
    case profile, interval, software, hardware
    case watchpoint, asyncwatchpoint
    case iter

    /// The long spelling that every supported bpftrace version accepts, except for
    /// fentry/fexit whose names appeared in 0.20 (see `Lowering`).
    public var canonicalProvider: String {
        switch self {
        case .begin: return "BEGIN"
        case .end: return "END"
        default: return rawValue
        }
    }

    /// Maps a written provider (long or short form, any supported version) to its kind.
    public static func from(provider: String) -> ProbeKind? {
        switch provider {
        case "BEGIN", "begin": return .begin
        case "END", "end": return .end
        case "tracepoint", "t": return .tracepoint
        case "rawtracepoint", "rt": return .rawtracepoint
        case "kprobe", "k": return .kprobe
        case "kretprobe", "kr": return .kretprobe
        case "kfunc", "fentry", "f": return .fentry
        case "kretfunc", "fexit", "fr": return .fexit
        case "uprobe", "u": return .uprobe
        case "uretprobe", "ur": return .uretprobe
        case "usdt", "U": return .usdt
        case "profile", "p": return .profile
        case "interval", "i": return .interval
        case "software", "s": return .software
        case "hardware", "h": return .hardware
        case "watchpoint", "w": return .watchpoint
        case "asyncwatchpoint", "aw": return .asyncwatchpoint
        case "iter", "it": return .iter
        default: return nil
        }
    }

    /// BEGIN/END take no target; every other kind needs at least one target part.
    public var takesTarget: Bool { self != .begin && self != .end }
}

/// One attach point, e.g. `tracepoint:syscalls:sys_enter_*` or `uprobe:/bin/bash:readline`.
/// The target is kept as the written `:`-separated parts (wildcards, quotes, `+offset`
/// preserved) because their meaning depends on the kind and on the kernel; resolution is
/// BpftraceSemantics' job.
public struct AttachPoint: Sendable, Hashable {
    public var kind: ProbeKind
    /// The provider as written (`k`, `kprobe`, `fentry`, `kfunc`, `begin`, …).
    public var provider: String
    /// The parts after the provider, e.g. `["syscalls", "sys_enter_*"]`.
    public var target: [String]
    public var range: SourceRange

    public init(kind: ProbeKind, provider: String? = nil, target: [String] = [],
                range: SourceRange = .unknown) {
        self.kind = kind
        self.provider = provider ?? kind.canonicalProvider
        self.target = target
        self.range = range
    }

    /// The attach point as bpftrace source text.
    public var text: String {
        target.isEmpty ? provider : provider + ":" + target.joined(separator: ":")
    }
}

// MARK: - Statements

public struct Block: Sendable, Hashable {
    public var statements: [Statement]
    public var range: SourceRange

    public init(_ statements: [Statement] = [], range: SourceRange = .unknown) {
        self.statements = statements
        self.range = range
    }
}

public struct Statement: Sendable, Hashable {
    public var kind: StatementKind
    public var range: SourceRange

    public init(_ kind: StatementKind, range: SourceRange = .unknown) {
        self.kind = kind
        self.range = range
    }
}

public indirect enum StatementKind: Sendable, Hashable {
    /// An expression evaluated for its effect: calls, `@x++`, …
    case expression(Expression)
    /// `target op value` where target is a `$var`, `@map[key]` (or a field/index thereof).
    case assignment(target: Expression, op: AssignmentOperator, value: Expression)
    /// `let $name[: type] [= value];` (bpftrace 0.22+). `name` has no `$`.
    case letDeclaration(name: String, type: TypeName?, value: Expression?)
    /// `if (c) { … } else …`; an `else if` is an else block holding one `if` statement.
    case ifStatement(condition: Expression, then: Block, else: Block?)
    case unroll(count: Expression, body: Block)
    case whileLoop(condition: Expression, body: Block)
    /// `for ($kv : @map) { … }` (0.21+). `variable` has no `$`.
    case forMap(variable: String, map: Expression, body: Block)
    /// `for $i : start..end { … }`, end exclusive. `variable` has no `$`.
    case forRange(variable: String, start: Expression, end: Expression, body: Block)
    case breakStatement
    case continueStatement
    case returnStatement(Expression?)
    /// A bare `{ … }` scope.
    case block(Block)
    /// Ken annotation: facts the verifier may assume. Removed before loading.
    case assume(Expression)
    /// Ken annotation: a property the verifier must prove. Removed before loading.
    case assert(Expression, message: String?)
}

public enum AssignmentOperator: String, Sendable, Hashable, CaseIterable {
    case assign = "="
    case add = "+=", subtract = "-=", multiply = "*=", divide = "/=", modulo = "%="
    case bitAnd = "&=", bitOr = "|=", bitXor = "^=", shiftLeft = "<<=", shiftRight = ">>="

    /// For compound assignments, the binary operator applied (`+=` → `+`).
    public var binaryOperator: BinaryOperator? {
        switch self {
        case .assign: return nil
        case .add: return .add
        case .subtract: return .subtract
        case .multiply: return .multiply
        case .divide: return .divide
        case .modulo: return .modulo
        case .bitAnd: return .bitAnd
        case .bitOr: return .bitOr
        case .bitXor: return .bitXor
        case .shiftLeft: return .shiftLeft
        case .shiftRight: return .shiftRight
        }
    }
}

// MARK: - Expressions

public struct Expression: Sendable, Hashable {
    public var kind: ExpressionKind
    public var range: SourceRange
    /// Filled by BpftraceSemantics; always nil straight out of the parser.
    public var type: SemanticType?

    public init(_ kind: ExpressionKind, range: SourceRange = .unknown, type: SemanticType? = nil) {
        self.kind = kind
        self.range = range
        self.type = type
    }
}

/// An integer literal, with its spelling kept so printing does not change `0x1F` into `31`.
public struct IntegerLiteral: Sendable, Hashable {
    /// The value in the unit bpftrace uses (durations in nanoseconds, sizes in bytes);
    /// nil if the literal does not fit in 64 bits.
    public var value: UInt64?
    /// The literal as written, e.g. `0x10`, `1_000`, `10ul`, `100ms`.
    public var text: String

    public init(value: UInt64?, text: String) {
        self.value = value
        self.text = text
    }

    public init(_ value: UInt64) {
        self.value = value
        self.text = String(value)
    }
}

/// The operand of `sizeof` / first operand of `offsetof`.
public indirect enum TypeOrExpression: Sendable, Hashable {
    case type(TypeName)
    case expression(Expression)
}

public indirect enum ExpressionKind: Sendable, Hashable {
    case integer(IntegerLiteral)
    /// A string literal; the value is decoded (escapes resolved).
    case string(String)
    case boolean(Bool)
    /// `$name` (no `$`).
    case variable(String)
    /// `@name` or `@name[k1, k2]` (no `@`; empty name is the anonymous map).
    case map(name: String, keys: [Expression])
    /// `$1`, `$2`, …
    case positional(Int)
    /// `$#`
    case positionalCount
    /// A builtin variable used without parentheses: `pid`, `comm`, `args`, `arg0`, `retval`, …
    case builtin(String)
    /// A bare identifier that is not a builtin (enum constant, config value, …).
    case identifier(String)
    /// `name(args…)`: builtin functions, map functions, and builtins called as functions
    /// (`comm()`, 0.23+).
    case call(name: String, arguments: [Expression])
    case unary(UnaryOperator, Expression)
    /// `++x`, `x++`, `--x`, `x--`.
    case incrementDecrement(IncrementDecrementOperator, prefix: Bool, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case ternary(condition: Expression, then: Expression, else: Expression)
    case cast(TypeName, Expression)
    /// `e.field` (`arrow == false`) or `e->field` (`arrow == true`). Tuple element access
    /// `$t.0` is a field access with field `"0"`.
    case fieldAccess(Expression, field: String, arrow: Bool)
    case index(Expression, Expression)
    case tuple([Expression])
    case sizeof(TypeOrExpression)
    /// `offsetof(struct foo, a.b)`: `field` is the dotted path as parts.
    case offsetof(TypeOrExpression, field: [String])
    /// Stands in for an expression that failed to parse, so the rest of the tree survives.
    case error
}

public enum UnaryOperator: String, Sendable, Hashable, CaseIterable {
    case negate = "-", plus = "+", logicalNot = "!", bitNot = "~", dereference = "*", addressOf = "&"
}

public enum IncrementDecrementOperator: String, Sendable, Hashable, CaseIterable {
    case increment = "++", decrement = "--"
}

public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case logicalOr = "||", logicalAnd = "&&"
    case bitOr = "|", bitXor = "^", bitAnd = "&"
    case equal = "==", notEqual = "!="
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case shiftLeft = "<<", shiftRight = ">>"
    case add = "+", subtract = "-"
    case multiply = "*", divide = "/", modulo = "%"

    /// C precedence; higher binds tighter.
    public var precedence: Int {
        switch self {
        case .logicalOr: return 1
        case .logicalAnd: return 2
        case .bitOr: return 3
        case .bitXor: return 4
        case .bitAnd: return 5
        case .equal, .notEqual: return 6
        case .less, .lessEqual, .greater, .greaterEqual: return 7
        case .shiftLeft, .shiftRight: return 8
        case .add, .subtract: return 9
        case .multiply, .divide, .modulo: return 10
        }
    }
}

/// A type as written in casts, `let` declarations, `sizeof` and `offsetof`:
/// a base name (`u16`, `int64`, `struct sock`, `string`) plus pointer stars and an optional
/// array count (`uint8[4]`).
public struct TypeName: Sendable, Hashable, CustomStringConvertible {
    /// The base name with its keyword for records, single-spaced: `struct sock`.
    public var base: String
    public var pointerDepth: Int
    public var arrayCount: Int?

    public init(base: String, pointerDepth: Int = 0, arrayCount: Int? = nil) {
        self.base = base
        self.pointerDepth = pointerDepth
        self.arrayCount = arrayCount
    }

    /// Source spelling, e.g. `struct sock *`, `u8[16]`.
    public var description: String {
        var s = base
        if let arrayCount { s += "[\(arrayCount)]" }
        if pointerDepth > 0 { s += " " + String(repeating: "*", count: pointerDepth) }
        return s
    }

    /// Whether this names a struct/union (needs `->`/`.` field resolution from BTF).
    public var isRecord: Bool { base.hasPrefix("struct ") || base.hasPrefix("union ") }
}

/// Short, unambiguous name for `Expression`. Foundation (swift-foundation) also declares a
/// type named `Expression`, so files importing both modules must write either
/// `BpftraceSyntax.Expression` or this alias.
public typealias Expr = Expression
