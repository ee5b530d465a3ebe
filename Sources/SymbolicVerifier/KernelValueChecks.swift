import BpftraceSemantics
import BpftraceSyntax
import KernelInfo

/// Ken's own checks on the kernel values a program reads, independent of any LLM or assert:
/// a network-byte-order value (`__be16`, `__be32`, `__be64`: ports and addresses in
/// `struct sock`) printed, used as a map key or compared as a number without a swap — the
/// paper's example of a plausible-looking but wrong program — and a user-space pointer read as
/// if it were kernel memory.
///
/// Warnings, not verdicts: asserts decide correctness; these make the likely mistake visible
/// even when no assert talks about it. The one place both users ask: Comprehension (on the
/// candidate, before annotating) and `kenc verify` (`SymbolicVerifier.verify(_: ResolvedProgram)`).
///
/// Every kernel type comes from the resolver (`ResolvedProgram.kernelValues`: tracepoint
/// fields, function arguments, BTF members, casts, `retval`). The checks only follow values
/// through `$variables` in program order (the resolver types a variable once, by its first
/// assignment; `$p = bswap($p)` makes `$p` a host-order value from there on) and through
/// integer casts (a cast keeps the bytes, hence the byte order).
public struct KernelValueChecks: Sendable {
    /// A kernel-function argument that holds a user-space address.
    public struct FunctionArgument: Sendable, Hashable {
        public var function: String
        public var argument: String

        public init(function: String, argument: String) {
            self.function = function
            self.argument = argument
        }
    }

    /// What the resolver cannot know and the kernel contracts can: kernel-function arguments
    /// that point into user memory (a BTF `__user` type tag, or the pointer arguments of a
    /// SYSCALL_DEFINE body). Tracepoint fields need none: the resolver marks those of syscall
    /// entry events itself.
    public var userPointerArguments: Set<FunctionArgument>

    public init(userPointerArguments: Set<FunctionArgument> = []) {
        self.userPointerArguments = userPointerArguments
    }

    /// The calls that print their arguments as numbers; those with a format string first.
    static let printing: Set<String> = ["printf", "print", "printk", "debugf", "errorf", "warnf"]
    static let formatted: Set<String> = ["printf", "printk", "debugf", "errorf", "warnf"]
    static let network: Set<String> = ["__be16", "__be32", "__be64"]
    static let comparisons: Set<BinaryOperator> = [.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual]

    /// The warnings for `resolved`, in program order, each once, pointing at the offending
    /// expression with a hint that names the fix.
    public func warnings(_ resolved: ResolvedProgram) -> [Diagnostic] {
        var run = Run(resolved: resolved, userArguments: userPointerArguments)
        for probe in resolved.program.probes {
            run.variables = [:]
            if let predicate = probe.predicate { run.inspect(predicate) }
            run.walk(probe.body)
        }
        return run.found
    }

    /// What the checks know about one value: the network-order typedef it holds, whether it
    /// points into user memory, and the kernel name it was read as (`skc_dport`), for hints.
    struct Fact: Hashable {
        var networkTypedef: String?
        var isUserPointer = false
        var name: String?
    }

    /// One pass over a program: the facts of the current probe's `$variables`, and the findings.
    struct Run {
        let resolved: ResolvedProgram
        let userArguments: Set<FunctionArgument>
        var variables: [String: Fact] = [:]
        var found: [Diagnostic] = []
        private var reported = Set<String>()

        init(resolved: ResolvedProgram, userArguments: Set<FunctionArgument>) {
            self.resolved = resolved
            self.userArguments = userArguments
        }

        mutating func walk(_ block: Block) {
            for statement in block.statements {
                switch statement.kind {
                case let .expression(e):
                    inspect(e)
                case let .returnStatement(e):
                    if let e { inspect(e) }
                case let .assignment(target, op, value):
                    inspect(value)
                    inspect(target)
                    if case let .variable(name) = target.kind {
                        variables[name] = op == .assign ? fact(value) : nil
                    }
                case let .letDeclaration(name, _, value):
                    if let value {
                        inspect(value)
                        variables[name] = fact(value)
                    }
                case .assume, .assert, .breakStatement, .continueStatement:
                    continue
                case let .ifStatement(condition, then, otherwise):
                    inspect(condition)
                    walk(then)
                    if let otherwise { walk(otherwise) }
                case let .unroll(count, body):
                    inspect(count)
                    walk(body)
                case let .whileLoop(condition, body):
                    inspect(condition)
                    walk(body)
                case let .forMap(_, map, body):
                    inspect(map)
                    walk(body)
                case let .forRange(_, start, end, body):
                    inspect(start)
                    inspect(end)
                    walk(body)
                case let .block(body):
                    walk(body)
                }
            }
        }

        /// Every node of `root`: printed, keyed or compared network-order values, and
        /// dereferenced user pointers.
        mutating func inspect(_ root: Expression) {
            var nodes: [Expression] = []
            root.forEachNode { nodes.append($0) }
            for e in nodes {
                switch e.kind {
                case let .call(name, arguments) where KernelValueChecks.printing.contains(name):
                    let values = KernelValueChecks.formatted.contains(name) ? Array(arguments.dropFirst()) : arguments
                    for argument in values { byteOrder(argument, use: "printed as a number") }
                case let .map(_, keys):
                    for key in keys { byteOrder(key, use: "used as a map key (printed as a number)") }
                case let .binary(op, lhs, rhs) where KernelValueChecks.comparisons.contains(op):
                    if !Self.isZero(rhs) { byteOrder(lhs, use: "compared as a number", other: rhs) }
                    if !Self.isZero(lhs) { byteOrder(rhs, use: "compared as a number", other: lhs) }
                case let .unary(.dereference, operand):
                    userPointer(operand, how: "dereferenced")
                case let .fieldAccess(base, _, true):
                    userPointer(base, how: "dereferenced with ->")
                case let .index(base, _):
                    userPointer(base, how: "indexed")
                default:
                    break
                }
            }
        }

        /// The facts about `e`: the resolver's, followed through variables and casts.
        func fact(_ e: Expression) -> Fact? {
            switch e.kind {
            case let .variable(name):
                return variables[name]
            case let .unary(.plus, inner):
                return fact(inner)
            case let .cast(typeName, inner):
                let innerFact = fact(inner)
                if typeName.pointerDepth >= 1 {
                    // A pointer cast keeps the address, hence the address space.
                    return Fact(isUserPointer: innerFact?.isUserPointer ?? false, name: innerFact?.name)
                }
                // A cast to a byte-order typedef says what the bytes are; any other integer
                // cast keeps the bytes, hence the byte order.
                if let cast = resolved.kernelValue(of: e).flatMap(Self.networkTypedef) {
                    return Fact(networkTypedef: cast, name: innerFact?.name)
                }
                return innerFact.map { Fact(networkTypedef: $0.networkTypedef, name: $0.name) }
            default:
                // Calls (bswap, ntohs, …) and arithmetic have no kernel facts: host values.
                guard let info = resolved.kernelValue(of: e) else { return nil }
                return Fact(networkTypedef: Self.networkTypedef(info),
                            isUserPointer: info.cType.isPointer && (info.isUserPointer || isUserArgument(info.origin)),
                            name: Self.name(info.origin))
            }
        }

        func isUserArgument(_ origin: KernelValueInfo.Origin) -> Bool {
            guard case let .functionArgument(function, argument) = origin else { return false }
            return userArguments.contains(FunctionArgument(function: function, argument: argument))
        }

        /// The first byte-order typedef in the value's typedef chain (`__be16` is itself a
        /// typedef of `__u16`), when it is a network-order one.
        static func networkTypedef(_ info: KernelValueInfo) -> String? {
            var type = info.cType
            for _ in 0..<32 {
                guard case let .typedef(name, inner) = type else { return nil }
                if KernelValueChecks.network.contains(name) { return name }
                if name.hasPrefix("__le") { return nil }
                type = inner
            }
            return nil
        }

        /// The kernel's name for the value (`skc_dport`, `retval`), or nil for a cast or builtin.
        static func name(_ origin: KernelValueInfo.Origin) -> String? {
            switch origin {
            case let .tracepointField(_, field): field
            case let .functionArgument(_, argument): argument
            case .returnValue: "retval"
            case let .member(_, member): member
            case .cast, .builtin: nil
            }
        }

        static func isZero(_ e: Expression) -> Bool {
            if case let .integer(literal) = e.kind { return literal.value == 0 }
            return false
        }

        mutating func byteOrder(_ e: Expression, use: String, other: Expression? = nil) {
            guard let typedef = fact(e)?.networkTypedef else { return }
            // Comparing two network-order values with each other is byte-order safe.
            if let other, fact(other)?.networkTypedef != nil { return }
            let text = Printer.print(e)
            let subject = fact(e)?.name ?? text
            let what = typedef == "__be16" ? "port" : "value"
            let hint = use.hasPrefix("compared")
                ? "\(subject) is \(typedef) (network byte order): compare bswap(\(text)) with the host-order \(what)"
                : "\(subject) is \(typedef) (network byte order): print bswap(\(text)) for the host-order \(what)"
            report(.warning("\(text) is \(typedef) (network byte order) and is \(use) without a byte swap",
                            at: e.range, hint: hint))
        }

        mutating func userPointer(_ e: Expression, how: String) {
            guard fact(e)?.isUserPointer == true else { return }
            let text = Printer.print(e)
            report(.warning("\(text) is a user-space pointer and is \(how): that reads kernel memory at a user address",
                            at: e.range,
                            hint: "read user memory with str(\(text)) for a string or buf(\(text), LENGTH) for bytes"))
        }

        mutating func report(_ diagnostic: Diagnostic) {
            let key = diagnostic.message + "@\(diagnostic.range.start.offset)"
            if reported.insert(key).inserted { found.append(diagnostic) }
        }
    }
}

extension SymbolicVerifier {
    /// Verifies a resolved program, adding Ken's kernel-value checks (byte order, user
    /// pointers) as warnings with their hints.
    public func verify(_ resolved: ResolvedProgram, prompt: String? = nil,
                       checks: KernelValueChecks = KernelValueChecks()) -> VerificationResult {
        var result = verify(resolved.program, prompt: prompt)
        result.warnings += checks.warnings(resolved).map(VerificationWarning.init(diagnostic:))
        return result
    }
}
