/// One explicit constraint a request states, with the words it came from.
///
/// Ken turns these into asserts on the program's outputs without an LLM, so they are only
/// what the words say outright: "opened by vim" is a process name, "larger than 64 MiB" a size
/// threshold. A phrase that could mean two things yields no constraint at all.
public struct PromptConstraint: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The task's name (`comm`) is one of these.
        case processName([String])
        case pid(UInt64)
        case uid(UInt64)
        /// A signal, by its Linux number, as a filter ("is sent SIGUSR1"), never an action.
        case signal(number: UInt64, name: String)
        case port(UInt64, direction: PortDirection)
        /// A size in bytes the event's size must exceed (or reach, when `inclusive`).
        case minimumBytes(UInt64, inclusive: Bool)
        /// A duration threshold in nanoseconds: stated, but which value is the duration is
        /// the program's choice, so it is reported and never asserted.
        case minimumDuration(UInt64, inclusive: Bool)
        /// A file path (or a prefix of one): reported, asserted only where it can be proven.
        case path(String, prefix: Bool)
    }

    public enum PortDirection: String, Sendable, Hashable {
        case destination, source, either
    }

    public var kind: Kind
    /// The words of the request it came from, as written ("opened by vim").
    public var phrase: String

    public init(kind: Kind, phrase: String) {
        self.kind = kind
        self.phrase = phrase
    }
}

/// A phrase that looked like a constraint but was left out, and why (shown to the user).
public struct SkippedPhrase: Sendable, Hashable {
    public var phrase: String
    public var reason: String
    public init(phrase: String, reason: String) {
        self.phrase = phrase
        self.reason = reason
    }
}
