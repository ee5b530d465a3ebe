import BpftraceSyntax

/// Reads the task model of a bpftrace program from its syntax tree: probes give the events,
/// aggregations and calls give the action, map keys the grouping, `printf` arguments the
/// outputs, predicates and `if` conditions the filters. Only what the tree states is read;
/// bookkeeping (a start-time map checked for zero, a successful-return check) is not a filter.
public enum ProgramTaskReader {
    /// The task of `program`, nil when it does not parse.
    public static func task(of program: String) -> TaskModel? {
        guard let tree = Parser.parse(source: program, file: "example.bt").program else { return nil }
        return task(of: tree)
    }

    public static func task(of program: Program) -> TaskModel {
        var model = TaskModel()
        var walker = Walker()
        for probe in program.probes {
            let points = probe.attachPoints
            for point in points {
                if let family = EventFamilies.ofProbe(kind: point.kind.rawValue, target: point.target) {
                    model.events.insert(family)
                }
            }
            let isInterval = points.contains { $0.kind == .interval }
            walker.inInterval = isInterval
            walker.events = model.events
            walker.printsPerEvent = !isInterval && Self.callsPrintf(probe.body)
            if let predicate = probe.predicate { walker.condition(predicate) }
            walker.block(probe.body)
            if isInterval, walker.printsInInterval {
                model.periodic = true
                if let point = points.first(where: { $0.kind == .interval }) {
                    model.intervalSeconds = seconds(ofInterval: point.target)
                }
            }
            walker.printsInInterval = false
        }
        if walker.acts {
            model.action = .act
        } else if walker.timeAggregate || walker.printsTime {
            model.action = .latency
        } else if walker.aggregates.contains(.histogram) {
            model.action = .histogram
        } else if walker.aggregates.contains(.sum) {
            model.action = .sum
        } else if walker.aggregates.contains(.count) {
            model.action = .count
        } else {
            model.action = .print
        }
        model.keys = walker.keys
        model.outputs = walker.outputs
        // One condition written in two probes (unlink and unlinkat) is one filter.
        var seen = Set<TaskFilter>()
        model.filters = walker.filters.filter { seen.insert($0).inserted }
        return model
    }

    /// Whether a block prints a line (`printf`) anywhere inside.
    static func callsPrintf(_ block: Block) -> Bool {
        var found = false
        let scan = TreeTransform(expression: { e in
            if case .call("printf", _) = e.kind { found = true }
            return e
        })
        _ = scan.apply(block)
        return found
    }

    /// `interval:s:5` → 5; `interval:ms:500` → nil (not whole seconds).
    static func seconds(ofInterval target: [String]) -> UInt64? {
        guard target.count == 2, let value = UInt64(target[1]) else { return nil }
        switch target[0] {
        case "s": return value
        case "ms" where value % 1000 == 0: return value / 1000
        default: return nil
        }
    }

    /// The field an expression stands for, if it is one the task vocabulary has.
    static func field(of expression: Expression, events: Set<String>) -> TaskField? {
        switch expression.kind {
        case .builtin(let name):
            switch name {
            case "comm", "pid", "tid": return .process
            case "uid", "gid", "username": return .user
            case "cpu": return .cpu
            case "kstack", "ustack": return .stack
            case "func", "probe": return .function
            case "retval": return .size
            default: return nil
            }
        case .fieldAccess(let base, let name, _):
            if case .builtin("args") = base.kind { return argumentField(name, events: events) }
            if case .identifier("args") = base.kind { return argumentField(name, events: events) }
            return nil
        case .call(let name, let arguments):
            switch name {
            case "str", "ntop", "kaddr", "uaddr", "ksym", "usym", "buf":
                return arguments.first.flatMap { field(of: $0, events: events) }
            default: return nil
            }
        case .binary(_, let left, let right):
            return field(of: left, events: events) ?? field(of: right, events: events)
        case .cast(_, let inner), .unary(_, let inner):
            return field(of: inner, events: events)
        default:
            return nil
        }
    }

    static func argumentField(_ name: String, events: Set<String>) -> TaskField? {
        switch name {
        case "filename", "pathname", "oldname", "newname", "path", "dir_name", "newpath", "oldpath", "target",
             "linkpath", "dev_name", "dir", "mode_name":
            return name == "dev_name" ? .device : .path
        case "name":
            return events.contains("irq") ? .function : events.contains("cgroup-create") ? .path : .device
        case "dev", "device": return .device
        case "bytes", "len", "size", "count", "bytes_alloc", "bytes_req", "addr_len", "length": return .size
        case "sig", "signal": return .signal
        case "error", "error_code", "errno": return .error
        case "mode": return .mode
        case "fd": return .fd
        case "dport", "sport", "lport", "port", "umyaddr", "uservaddr": return .port
        case "daddr", "saddr", "saddr_v6", "daddr_v6": return .address
        case "reason": return .reason
        case "state", "newstate", "oldstate": return .state
        case "rwbs", "type", "family", "protocol": return .type
        case "id": return .syscall
        case "cap": return .type
        case "cmd", "request": return .command
        case "prio", "nice", "niceval": return .priority
        case "pid", "parent_pid", "child_pid", "next_pid", "prev_pid", "comm", "parent_comm", "child_comm",
             "next_comm", "prev_comm", "oldcomm", "newcomm":
            return .target
        case "uid", "ruid", "euid", "suid", "user": return .user
        case "backlog": return .backlog
        case "function": return .function
        case "ret": return events.isDisjoint(with: ["read", "write"]) ? .error : .size
        case "flags", "prot": return nil
        default: return nil
        }
    }

    private enum Aggregate: Hashable { case count, sum, histogram }

    /// Walks statements once, collecting the action's evidence, keys, outputs and filters.
    private struct Walker {
        var events: Set<String> = []
        var inInterval = false
        var printsInInterval = false
        var acts = false
        var aggregates: Set<Aggregate> = []
        var timeAggregate = false
        var printsTime = false
        var keys: Set<TaskField> = []
        var outputs: Set<TaskField> = []
        var filters: [TaskFilter] = []
        /// Variables and maps that hold a timestamp or a time difference.
        var timeNames: Set<String> = []

        mutating func block(_ block: Block) {
            for statement in block.statements { self.statement(statement) }
        }

        mutating func statement(_ statement: Statement) {
            switch statement.kind {
            case .expression(let expression):
                self.expression(expression)
            case .assignment(let target, let op, let value):
                assignment(target: target, op: op, value: value)
            case .letDeclaration(let name, _, let value):
                if let value, mentionsTime(value) { timeNames.insert("$" + name) }
            case .ifStatement(let condition, let then, let otherwise):
                self.condition(condition)
                block(then)
                if let otherwise { block(otherwise) }
            case .unroll(_, let body), .whileLoop(_, let body), .forMap(_, _, let body), .forRange(_, _, _, let body),
                 .block(let body):
                block(body)
            case .breakStatement, .continueStatement, .returnStatement, .assume, .assert:
                break
            }
        }

        mutating func assignment(target: Expression, op: AssignmentOperator, value: Expression) {
            let name: String?
            var mapKeys: [Expression] = []
            switch target.kind {
            case .variable(let variable): name = "$" + variable
            case .map(let map, let keys): name = "@" + map; mapKeys = keys
            default: name = nil
            }
            if case .call(let function, let arguments) = value.kind, ["count", "sum", "hist", "lhist", "avg", "min", "max", "stats"].contains(function) {
                let timed = arguments.contains(where: mentionsTimeDifference)
                switch function {
                case "count": aggregates.insert(.count)
                case "hist", "lhist": if timed { timeAggregate = true } else { aggregates.insert(.histogram) }
                default: if timed { timeAggregate = true } else { aggregates.insert(function == "sum" ? .sum : .histogram) }
                }
                addKeys(mapKeys)
                return
            }
            if op == .add, case .map = target.kind {
                if mentionsTimeDifference(value) { timeAggregate = true } else { aggregates.insert(.sum) }
                addKeys(mapKeys)
                return
            }
            if let name, mentionsTime(value) { timeNames.insert(name) }
            expression(value)
        }

        mutating func addKeys(_ expressions: [Expression]) {
            for key in expressions {
                if case .tuple(let parts) = key.kind { addKeys(parts); continue }
                if let field = ProgramTaskReader.field(of: key, events: events) { keys.insert(field) }
            }
        }

        mutating func expression(_ expression: Expression) {
            switch expression.kind {
            case .incrementDecrement(.increment, _, let target):
                if case .map(_, let mapKeys) = target.kind, !printsPerEvent {
                    aggregates.insert(.count)
                    addKeys(mapKeys)
                }
            case .call(let name, let arguments):
                switch name {
                case "signal", "system", "override":
                    acts = true
                    if name == "signal", let first = arguments.first {
                        switch first.kind {
                        case .string(let text): filters.append(TaskFilter(.signal, SignalNames.canonical(text) ?? text))
                        case .integer(let number): filters.append(TaskFilter(.signal, SignalNames.name(ofNumber: Int(number.value ?? 0))))
                        default: break
                        }
                    }
                case "printf":
                    if inInterval { printsInInterval = true }
                    for argument in arguments.dropFirst() {
                        if mentionsTimeDifference(argument) { printsTime = true }
                        if let field = ProgramTaskReader.field(of: argument, events: events) { outputs.insert(field) }
                    }
                case "print", "time", "join":
                    if inInterval { printsInInterval = true }
                    if name == "join", let first = arguments.first,
                       let field = ProgramTaskReader.field(of: first, events: events) { outputs.insert(field) }
                default: break
                }
            default: break
            }
        }

        /// Set while scanning a probe that prints a line per event, where `@n++` is a counter
        /// for that line (numbering, a limit), not the task's aggregate.
        var printsPerEvent = false

        mutating func condition(_ expression: Expression) {
            if case .binary(let op, let left, let right) = expression.kind, op == .logicalAnd || op == .logicalOr {
                condition(left)
                condition(right)
                return
            }
            if let filter = Self.filter(expression, events: events) { filters.append(filter) }
        }

        static func filter(_ expression: Expression, events: Set<String>) -> TaskFilter? {
            guard case .binary(let op, let left, let right) = expression.kind else {
                if case .unary(.logicalNot, _) = expression.kind { return TaskFilter(.flags) }
                return nil
            }
            // strncmp(str(path), "/tmp/", 5) == 0
            if case .call("strncmp", let arguments) = left.kind, arguments.count == 3,
               case .string(let prefix) = arguments[1].kind {
                return TaskFilter(.pathPrefix, prefix)
            }
            if references(left, bookkeeping: true) || references(right, bookkeeping: true) {
                // A map or variable compared: a limit on something counted is a threshold.
                if [.greater, .greaterEqual].contains(op), case .integer(let bound) = right.kind,
                   let value = bound.value, value > 1 {
                    return TaskFilter(.threshold, String(value))
                }
                return nil
            }
            let (subject, literal) = isLiteral(right) ? (left, right) : (right, left)
            guard isLiteral(literal) else { return nil }
            if case .builtin(let name) = subject.kind {
                switch (name, literal.kind) {
                case ("comm", .string(let value)) where op == .equal: return TaskFilter(.process, value)
                case ("pid", .integer(let value)) where op == .equal, ("tid", .integer(let value)) where op == .equal:
                    return TaskFilter(.pid, value.text)
                case ("uid", .integer(let value)) where op == .equal: return TaskFilter(.uid, value.text)
                default: return TaskFilter(.flags)
                }
            }
            let field = ProgramTaskReader.field(of: subject, events: events)
            if case .string(let value) = literal.kind, field == .path, op == .equal { return TaskFilter(.path, value) }
            if case .fieldAccess(_, let name, _) = subject.kind {
                if ["ret", "error", "error_code", "exit_code"].contains(name) {
                    switch (op, literal.kind) {
                    case (.less, .integer(let v)) where v.value == 0, (.notEqual, .integer(let v)) where v.value == 0:
                        return TaskFilter(.failure)
                    case (.greater, _), (.greaterEqual, _): return nil
                    default: break
                    }
                }
                if case .integer(let value) = literal.kind {
                    switch field {
                    case .signal? where op == .equal: return TaskFilter(.signal, SignalNames.name(ofNumber: Int(value.value ?? 0)))
                    case .port? where op == .equal: return TaskFilter(.port, value.text)
                    case .user? where op == .equal: return TaskFilter(.uid, value.text)
                    case .size? where [.greater, .greaterEqual].contains(op): return TaskFilter(.threshold, value.text)
                    default: break
                    }
                }
            }
            return TaskFilter(.flags)
        }

        static func isLiteral(_ expression: Expression) -> Bool {
            switch expression.kind {
            case .integer, .string, .boolean, .identifier: return true
            case .unary(.negate, let inner): return isLiteral(inner)
            default: return false
            }
        }

        static func references(_ expression: Expression, bookkeeping: Bool) -> Bool {
            var found = false
            expression.forEachNode {
                switch $0.kind {
                case .map, .variable: found = true
                case .builtin("nsecs"), .builtin("elapsed"): found = true
                default: break
                }
            }
            return found
        }

        func mentionsTime(_ expression: Expression) -> Bool {
            var found = false
            expression.forEachNode {
                switch $0.kind {
                case .builtin("nsecs"), .builtin("elapsed"): found = true
                case .call("nsecs", _): found = true
                case .variable(let name) where timeNames.contains("$" + name): found = true
                case .map(let name, _) where timeNames.contains("@" + name): found = true
                default: break
                }
            }
            return found
        }

        func mentionsTimeDifference(_ expression: Expression) -> Bool {
            var found = false
            expression.forEachNode {
                if case .binary(.subtract, let left, let right) = $0.kind, mentionsTime(left) || mentionsTime(right) {
                    found = true
                }
                if case .variable(let name) = $0.kind, timeNames.contains("$" + name) { found = true }
            }
            return found
        }
    }
}
