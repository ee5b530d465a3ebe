import BpftraceSyntax
import KernelInfo

/// What the resolver learned about a value that comes from the kernel (a tracepoint field, a
/// function argument, a BTF struct member), beyond its bpftrace `SemanticType`.
///
/// Kept in a side table keyed by the expression's source range because `SemanticType` is
/// deliberately kernel-agnostic: later passes need the C spelling (`__be16` members need byte
/// swapping) and whether a pointer points into user memory (`str()` on it reads user memory).
public struct KernelValueInfo: Sendable, Hashable {
    /// The kernel's C type, typedef name kept.
    public var cType: CType
    /// The outermost typedef name, e.g. `__be16`, `pid_t`; nil for plain C types.
    public var typedefName: String? { cType.typedefName }
    /// The C spelling, e.g. `const char *` for a tracepoint field as written, `__be16` for a
    /// BTF member.
    public var cName: String
    /// Whether the value is a pointer into user memory.
    public var isUserPointer: Bool
    /// Where the value came from.
    public var origin: Origin

    public enum Origin: Sendable, Hashable {
        /// `args.field` of a tracepoint (`category:name`).
        case tracepointField(tracepoint: String, field: String)
        /// An argument of a kernel function (kfunc/kretfunc) or raw tracepoint.
        case functionArgument(function: String, argument: String)
        /// A kretfunc's `retval`.
        case returnValue(function: String)
        /// A struct/union member read through `->` or `.`.
        case member(record: String, member: String)
        /// A value cast to a kernel type.
        case cast
        /// A builtin such as `curtask`.
        case builtin(String)
    }

    public init(cType: CType, cName: String? = nil, isUserPointer: Bool = false, origin: Origin) {
        self.cType = cType
        self.cName = cName ?? cType.description
        self.isUserPointer = isUserPointer
        self.origin = origin
    }
}

/// An attach point after wildcard expansion against the kernel.
public struct ResolvedAttachPoint: Sendable, Hashable {
    public var attachPoint: AttachPoint
    /// Concrete targets (`category:name`, function names); empty for kinds without kernel
    /// targets (BEGIN, profile, uprobe, …) and for unresolved ones.
    public var targets: [String]
}

/// The result of resolution: the tree with every expression's `type` filled, diagnostics in
/// source order, and the kernel facts gathered on the way.
public struct ResolvedProgram: Sendable {
    public var program: Program
    public var diagnostics: [Diagnostic]
    /// Kernel facts per expression range (tracepoint fields, BTF members, casts, …).
    public var kernelValues: [SourceRange: KernelValueInfo]
    /// One entry per attach point, in program order.
    public var attachPoints: [ResolvedAttachPoint]
    /// Value type of each map (`@name`, no `@`) after its first assignment.
    public var mapTypes: [String: SemanticType]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// The kernel facts for `expression`, if it reads kernel data.
    public func kernelValue(of expression: Expression) -> KernelValueInfo? {
        kernelValues[expression.range]
    }
}
