import SQLite

/// Why the contracts store could not be opened, built or read.
public enum ContractsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The state directory is missing and cannot be created, or is not writable.
    case stateDirectory(path: String, reason: String)
    /// The SQLite file failed.
    case storage(String)
    /// A stored contract did not decode (file from another Ken version or damaged).
    case corrupt(key: String, reason: String)
    /// The probe text names no kernel probe kind with contracts (BEGIN, uprobe, …) or is malformed.
    case notAKernelProbe(String)
    /// Building produced no contract at all: neither tracefs nor BTF was readable.
    case nothingToBuild(problems: [String])

    public var description: String {
        switch self {
        case let .stateDirectory(path, reason):
            return "cannot use state directory \(path): \(reason)"
        case let .storage(message):
            return "contracts store: \(message)"
        case let .corrupt(key, reason):
            return "stored contract \(key) is unreadable (\(reason)); delete the contracts file to rebuild it"
        case let .notAKernelProbe(text):
            return "'\(text)' is not a kernel probe with contracts (use tracepoint:CATEGORY:NAME, kprobe:FUNC, kretprobe:FUNC, kfunc:FUNC, kretfunc:FUNC or rawtracepoint:NAME)"
        case let .nothingToBuild(problems):
            return "no kernel contracts can be built: " + (problems.isEmpty ? "no tracefs and no BTF" : problems.joined(separator: "; "))
        }
    }

    static func wrap(_ error: SQLiteError) -> ContractsError { .storage(error.description) }
}
