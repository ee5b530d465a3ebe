/// The `// task:` line of a corpus example: facts of its task model that its program does not
/// state in a way `ProgramTaskReader` can read — which direction a `tcp:inet_sock_set_state`
/// filter selects, that a `sched_switch` predicate means "goes idle". Each given part replaces
/// the part read from the program:
///
/// ```
/// // task: events=tcp-connect; outputs=process,address,port
/// // task: filters=flags:preemption
/// ```
public struct TaskMetadata: Sendable, Hashable {
    public var events: Set<String>?
    public var action: TaskAction?
    public var keys: Set<TaskField>?
    public var outputs: Set<TaskField>?
    public var filters: [TaskFilter]?

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws(ParseError) -> TaskMetadata {
        var metadata = TaskMetadata()
        for part in text.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { throw ParseError(description: "'\(part)' is not key=value") }
            let values = pair[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            switch pair[0] {
            case "events": metadata.events = Set(values)
            case "action":
                guard let action = TaskAction(rawValue: pair[1]) else {
                    throw ParseError(description: "unknown action '\(pair[1])'")
                }
                metadata.action = action
            case "keys", "outputs":
                var fields: Set<TaskField> = []
                for value in values {
                    guard let field = TaskField(rawValue: value) else { throw ParseError(description: "unknown field '\(value)'") }
                    fields.insert(field)
                }
                if pair[0] == "keys" { metadata.keys = fields } else { metadata.outputs = fields }
            case "filters":
                metadata.filters = try values.map { value throws(ParseError) -> TaskFilter in
                    let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                    guard let kind = TaskFilter.Kind(rawValue: parts[0]) else {
                        throw ParseError(description: "unknown filter kind '\(parts[0])'")
                    }
                    return TaskFilter(kind, parts.count == 2 ? parts[1] : nil)
                }
            default: throw ParseError(description: "unknown key '\(pair[0])'")
            }
        }
        return metadata
    }

    /// `model` with every part this metadata gives replaced.
    public func applied(to model: TaskModel) -> TaskModel {
        var result = model
        if let events { result.events = events }
        if let action { result.action = action }
        if let keys { result.keys = keys }
        if let outputs { result.outputs = outputs }
        if let filters { result.filters = filters }
        return result
    }
}

extension Example {
    /// The example's task model: read from its program, corrected by its `// task:` line.
    /// Nil when the program does not parse (then it never answers a request offline).
    public var taskModel: TaskModel? {
        guard let model = ProgramTaskReader.task(of: program) else { return nil }
        guard let task, let metadata = try? TaskMetadata.parse(task) else { return model }
        return metadata.applied(to: model)
    }
}
