/// What a tracing task is, reduced to the parts that decide whether a program does it: which
/// events it watches, what it does with them, how it groups them, what it shows and which
/// events it keeps.
///
/// The offline library answers a request with a shipped program only when the two task models
/// agree (`TaskModel.compare`). Word similarity alone picks programs for a different task — a
/// queue *length* answered by a queue *latency* histogram — because the words of two requests
/// can overlap while their events or actions differ. The model is extracted from the request's
/// words (`RequestTaskReader`) and from each example's program (`ProgramTaskReader`), with
/// corpus metadata (`// task:`) where the program alone does not say it.
public struct TaskModel: Sendable, Hashable, CustomStringConvertible {
    /// Event families (`open`, `exec`, `block-request`, …): what happens in the system.
    public var events: Set<String>
    public var action: TaskAction
    /// How an aggregation is keyed (per process, per device, …); empty for one total.
    public var keys: Set<TaskField>
    /// What a request asks to see, or what a program prints.
    public var outputs: Set<TaskField>
    /// Which events are kept; each may carry a value a request fills in.
    public var filters: [TaskFilter]
    /// Output printed every `intervalSeconds` rather than once at the end.
    public var periodic: Bool
    public var intervalSeconds: UInt64?

    public init(events: Set<String> = [], action: TaskAction = .print, keys: Set<TaskField> = [],
                outputs: Set<TaskField> = [], filters: [TaskFilter] = [], periodic: Bool = false,
                intervalSeconds: UInt64? = nil) {
        self.events = events
        self.action = action
        self.keys = keys
        self.outputs = outputs
        self.filters = filters
        self.periodic = periodic
        self.intervalSeconds = intervalSeconds
    }

    public var description: String {
        var parts = ["events=" + events.sorted().joined(separator: ","), "action=" + action.rawValue]
        if !keys.isEmpty { parts.append("keys=" + keys.map(\.rawValue).sorted().joined(separator: ",")) }
        if !outputs.isEmpty { parts.append("outputs=" + outputs.map(\.rawValue).sorted().joined(separator: ",")) }
        if !filters.isEmpty { parts.append("filters=" + filters.map(\.description).joined(separator: ",")) }
        if periodic { parts.append("every=\(intervalSeconds.map { "\($0)s" } ?? "interval")") }
        return parts.joined(separator: " ")
    }
}

/// What a program does with the events it sees.
public enum TaskAction: String, Sendable, Hashable, CaseIterable {
    /// One line per event.
    case print
    /// How many events (`count()`, `++`).
    case count
    /// A total of a value (`sum()`), e.g. bytes.
    case sum
    /// The distribution of a value (`hist()`, `lhist()`) that is not a time.
    case histogram
    /// A time between two events (a latency, a duration), in any aggregate.
    case latency
    /// Acts on the system: `signal()`, `system()`.
    case act
}

/// A piece of information a task groups by or shows. The vocabulary is small on purpose: only
/// what can be recognised both in English and in a program.
public enum TaskField: String, Sendable, Hashable, CaseIterable {
    case process, user, cpu, device, path, size, port, address, signal, error, mode, syscall,
         stack, reason, state, type, function, fd, priority, target, backlog, command
}

/// A condition on which events are kept. `value` is the literal (a process name, a path, a
/// number) when there is one; it is what a request substitutes into an example.
public struct TaskFilter: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `comm == "vim"`.
        case process
        case pid, uid
        /// `str(args->filename) == "/etc/hostname"`.
        case path
        /// `strncmp(str(args->filename), "/tmp/", 5) == 0`.
        case pathPrefix = "path-prefix"
        /// A signal the event is about, or the one an action sends.
        case signal
        case port
        /// `args->x > N`: a size, a count or a time above a bound.
        case threshold
        /// Only failing calls (`args->ret < 0`).
        case failure
        /// A condition on flags or states that a request names in words ("for writing").
        case flags
        /// The request asks for a literal text in the output ("print REMOVED"): no shipped
        /// program prints it.
        case literalOutput = "literal-output"
    }

    public var kind: Kind
    public var value: String?

    public init(_ kind: Kind, _ value: String? = nil) {
        self.kind = kind
        self.value = value
    }

    public var description: String { value.map { "\(kind.rawValue)=\($0)" } ?? kind.rawValue }

    /// Kinds whose value an example exposes as a parameter the request fills in.
    public var isParameter: Bool {
        switch kind {
        case .process, .pid, .uid, .path, .pathPrefix, .signal, .port, .threshold: return value != nil
        case .failure, .flags, .literalOutput: return false
        }
    }
}

/// Why a request and an example agree or not, and what must change in the example's program.
public struct TaskComparison: Sendable, Hashable {
    /// Every difference that makes the example a different task; empty when it does the task.
    public var mismatches: [String]
    /// Example parameter values to replace with the request's, by filter kind.
    public var substitutions: [ParameterSubstitution]
    /// New interval (seconds) when the request asks for another period.
    public var interval: UInt64?

    public var matches: Bool { mismatches.isEmpty }
}

/// One parameter of an example filled in from the request.
public struct ParameterSubstitution: Sendable, Hashable, CustomStringConvertible {
    public var kind: TaskFilter.Kind
    public var from: String
    public var to: String
    public init(kind: TaskFilter.Kind, from: String, to: String) {
        self.kind = kind
        self.from = from
        self.to = to
    }

    public var description: String { "\(kind.rawValue) \(from) → \(to)" }
}

extension TaskModel {
    /// Whether `example` does the task this request model asks for. Strict by design: events,
    /// action and grouping must agree; every filter the request states must be a parameter of
    /// the example, and every filter of the example must be one the request states (otherwise
    /// the example keeps events the user did not ask to drop); every output the request names
    /// must be printed. A request with no recognised event or with a literal output is never
    /// matched: the library does not guess.
    public func compare(toExample example: TaskModel) -> TaskComparison {
        var mismatches: [String] = []
        var substitutions: [ParameterSubstitution] = []
        if events.isEmpty { mismatches.append("no event recognised in the request") }
        if events != example.events {
            mismatches.append("events \(events.sorted()) ≠ \(example.events.sorted())")
        }
        if action != example.action { mismatches.append("action \(action.rawValue) ≠ \(example.action.rawValue)") }
        if action != .print && action != .act {
            let mine = Self.normalisedKeys(keys), theirs = Self.normalisedKeys(example.keys)
            if mine != theirs {
                mismatches.append("keys \(mine.map(\.rawValue).sorted()) ≠ \(theirs.map(\.rawValue).sorted())")
            }
        } else {
            let missing = Self.normalisedKeys(outputs).subtracting(Self.impliedOutputs(example))
            if !missing.isEmpty { mismatches.append("does not show \(missing.map(\.rawValue).sorted())") }
        }
        if periodic && !example.periodic { mismatches.append("not periodic") }
        var unmatched = example.filters
        for filter in filters {
            if filter.kind == .literalOutput {
                mismatches.append("asks to print the literal \(filter.value ?? "")")
                continue
            }
            // A flag condition is not a parameter: it matches only the same condition.
            guard let position = unmatched.firstIndex(where: {
                $0.kind == filter.kind && (filter.kind != .flags || $0.value == filter.value)
            }) else {
                mismatches.append("no \(filter.kind.rawValue) filter to fill")
                continue
            }
            let theirs = unmatched.remove(at: position)
            if let wanted = filter.value, let present = theirs.value, wanted != present {
                substitutions.append(ParameterSubstitution(kind: filter.kind, from: present, to: wanted))
            } else if filter.value != nil, theirs.value == nil {
                mismatches.append("\(filter.kind.rawValue) filter has no value to fill")
            }
        }
        for extra in unmatched {
            mismatches.append("keeps only \(extra.description), which the request does not ask")
        }
        var interval: UInt64?
        if let wanted = intervalSeconds, example.periodic, wanted != example.intervalSeconds {
            interval = wanted
        }
        return TaskComparison(mismatches: mismatches, substitutions: substitutions, interval: interval)
    }

    /// A pid identifies a process as well as its name does.
    static func normalisedKeys(_ keys: Set<TaskField>) -> Set<TaskField> {
        Set(keys.map { $0 == .target ? .process : $0 })
    }

    /// What the example shows: its printed fields, its aggregation keys, and the values its
    /// filters pin (a program that keeps only `comm == "tee"` names the program by construction).
    static func impliedOutputs(_ example: TaskModel) -> Set<TaskField> {
        var fields = normalisedKeys(example.outputs.union(example.keys))
        for filter in example.filters {
            switch filter.kind {
            case .process: fields.insert(.process)
            case .path, .pathPrefix: fields.insert(.path)
            case .signal: fields.insert(.signal)
            case .port: fields.insert(.port)
            default: break
            }
        }
        return fields
    }
}
