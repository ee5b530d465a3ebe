import BpftraceSyntax
import Contracts

/// What the checks know about a value the program reads from the kernel.
struct KernelValue: Sendable, Hashable {
    /// The struct the value is, or points to (`struct sock`), for member lookups.
    var record: String?
    var byteOrder: ByteOrder = .host
    /// The byte-order typedef (`__be16`), for messages.
    var typedefName: String?
    var isUserPointer = false
    /// The field or member name the value was read from (`skc_dport`).
    var name: String
}

/// Types kernel values from the contracts alone (no resolver needed): `args.f` from the probe
/// contract, casts to struct pointers, `$variables` assigned from them, and member accesses
/// through the stored record contracts.
struct ContractTyping {
    let store: ContractStore
    private var recordCache: [String: RecordContract?] = [:]

    init(store: ContractStore) {
        self.store = store
    }

    mutating func record(_ name: String) -> RecordContract? {
        if let hit = recordCache[name] { return hit }
        let found = try? store.record(named: name)
        recordCache[name] = .some(found ?? nil)
        return found ?? nil
    }

    static func value(_ contract: ValueContract) -> KernelValue {
        KernelValue(record: contract.record, byteOrder: contract.byteOrder,
                    typedefName: contract.typedefs.first { $0.hasPrefix("__be") || $0.hasPrefix("__le") },
                    isUserPointer: contract.isUserPointer, name: contract.name)
    }

    mutating func type(of e: Expression, probe: ProbeContract?, env: [String: KernelValue]) -> KernelValue? {
        switch e.kind {
        case let .fieldAccess(base, field, _):
            if case .builtin("args") = base.kind {
                return probe?.argument(named: field).map(Self.value)
            }
            guard let owner = type(of: base, probe: probe, env: env), let recordName = owner.record,
                  let member = record(recordName)?.member(named: field) else { return nil }
            return Self.value(member)
        case let .builtin(name):
            if name == "retval", let ret = probe?.returnValue { return Self.value(ret) }
            return nil
        case let .variable(name):
            return env[name]
        case let .cast(typeName, inner):
            let innerValue = type(of: inner, probe: probe, env: env)
            if typeName.isRecord, typeName.pointerDepth >= 1 {
                return KernelValue(record: typeName.base, isUserPointer: innerValue?.isUserPointer ?? false,
                                   name: innerValue?.name ?? "")
            }
            // An integer cast keeps the bytes, hence the byte order.
            return innerValue.map { KernelValue(byteOrder: $0.byteOrder, typedefName: $0.typedefName, name: $0.name) }
        case let .unary(.plus, inner):
            return type(of: inner, probe: probe, env: env)
        default:
            // Calls (bswap, ntohs, …) and arithmetic produce host values.
            return nil
        }
    }
}

/// Ken's own checks on a candidate, independent of any LLM: network-byte-order values printed
/// or compared without a swap, and user pointers read as if they were kernel memory.
struct KernelValueChecks {
    var typing: ContractTyping
    private(set) var warnings: [Diagnostic] = []
    private var reported = Set<String>()

    init(store: ContractStore) {
        typing = ContractTyping(store: store)
    }

    static let printingCalls: Set<String> = ["printf", "print", "printf_"]

    mutating func check(_ program: Program, contracts: [ProbeContract?]) {
        for (index, probe) in program.probes.enumerated() {
            let contract = index < contracts.count ? contracts[index] : nil
            var env: [String: KernelValue] = [:]
            if let predicate = probe.predicate { inspect(predicate, contract, env) }
            walk(probe.body, contract, &env)
        }
    }

    private mutating func walk(_ block: Block, _ contract: ProbeContract?, _ env: inout [String: KernelValue]) {
        for statement in block.statements {
            switch statement.kind {
            case let .assignment(target, op, value):
                inspect(value, contract, env)
                inspect(target, contract, env)
                if case let .variable(name) = target.kind {
                    if op == .assign, let typed = typing.type(of: value, probe: contract, env: env) {
                        env[name] = typed
                    } else {
                        env[name] = nil
                    }
                }
            case let .letDeclaration(name, _, value):
                if let value {
                    inspect(value, contract, env)
                    env[name] = typing.type(of: value, probe: contract, env: env)
                }
            case .assume, .assert:
                continue
            case let .ifStatement(condition, then, otherwise):
                inspect(condition, contract, env)
                walk(then, contract, &env)
                if let otherwise { walk(otherwise, contract, &env) }
            case let .unroll(count, body):
                inspect(count, contract, env)
                walk(body, contract, &env)
            case let .whileLoop(condition, body):
                inspect(condition, contract, env)
                walk(body, contract, &env)
            case let .forMap(_, map, body):
                inspect(map, contract, env)
                walk(body, contract, &env)
            case let .forRange(_, start, end, body):
                inspect(start, contract, env)
                inspect(end, contract, env)
                walk(body, contract, &env)
            case let .block(body):
                walk(body, contract, &env)
            default:
                ProgramWalk.expressions(in: statement) { inspect($0, contract, env) }
            }
        }
    }

    /// Looks at every node of `root` for printed/compared network-order values and user
    /// pointer dereferences.
    private mutating func inspect(_ root: Expression, _ contract: ProbeContract?, _ env: [String: KernelValue]) {
        var nodes: [Expression] = []
        root.forEachNode { nodes.append($0) }
        for e in nodes {
            switch e.kind {
            case let .call(name, arguments) where Self.printingCalls.contains(name):
                let values = name == "printf" ? Array(arguments.dropFirst()) : arguments
                for argument in values { byteOrder(argument, contract, env, use: "printed as a number") }
            case let .map(_, keys):
                for key in keys { byteOrder(key, contract, env, use: "used as a map key (printed as a number)") }
            case let .binary(op, lhs, rhs) where [.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual].contains(op):
                if !Self.isZero(rhs) { byteOrder(lhs, contract, env, use: "compared as a number", other: rhs) }
                if !Self.isZero(lhs) { byteOrder(rhs, contract, env, use: "compared as a number", other: lhs) }
            case let .unary(.dereference, operand):
                userPointer(operand, contract, env, how: "dereferenced")
            case let .fieldAccess(base, _, true):
                userPointer(base, contract, env, how: "dereferenced with ->")
            case let .index(base, _):
                userPointer(base, contract, env, how: "indexed")
            default:
                break
            }
        }
    }

    private static func isZero(_ e: Expression) -> Bool {
        if case let .integer(literal) = e.kind { return literal.value == 0 }
        return false
    }

    private mutating func byteOrder(_ e: Expression, _ contract: ProbeContract?, _ env: [String: KernelValue],
                                    use: String, other: Expression? = nil) {
        guard let value = typing.type(of: e, probe: contract, env: env), value.byteOrder == .bigEndian else { return }
        // Comparing two network-order values with == / != is byte-order safe.
        if let other, let otherValue = typing.type(of: other, probe: contract, env: env),
           otherValue.byteOrder == .bigEndian { return }
        let text = Printer.print(e)
        let typedef = value.typedefName ?? "big-endian"
        let subject = value.name.isEmpty ? text : value.name
        let what = typedef == "__be16" ? "port" : "value"
        let hint = use.hasPrefix("compared")
            ? "\(subject) is \(typedef) (network byte order): compare bswap(\(text)) with the host-order \(what)"
            : "\(subject) is \(typedef) (network byte order): print bswap(\(text)) for the host-order \(what)"
        report(.warning("\(text) is \(typedef) (network byte order) and is \(use) without a byte swap",
                        at: e.range, hint: hint))
    }

    private mutating func userPointer(_ e: Expression, _ contract: ProbeContract?, _ env: [String: KernelValue], how: String) {
        guard let value = typing.type(of: e, probe: contract, env: env), value.isUserPointer else { return }
        let text = Printer.print(e)
        report(.warning("\(text) is a user-space pointer and is \(how): that reads kernel memory at a user address",
                        at: e.range,
                        hint: "read user memory with str(\(text)) for a string or buf(\(text), LENGTH) for bytes"))
    }

    private mutating func report(_ diagnostic: Diagnostic) {
        let key = diagnostic.message + "@\(diagnostic.range.start.offset)"
        if reported.insert(key).inserted { warnings.append(diagnostic) }
    }
}
