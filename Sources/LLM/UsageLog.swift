/// Every call's metrics, kept in memory so kend can report totals (tokens spent, time waited)
/// for a synthesis or since start. Bounded so a long-running daemon does not grow forever.
public actor UsageLog {
    public private(set) var records: [CallMetrics] = []
    private let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    func record(_ metrics: CallMetrics) {
        if records.count >= capacity { records.removeFirst(records.count - capacity + 1) }
        records.append(metrics)
    }

    public var totalPromptTokens: Int { records.reduce(0) { $0 + $1.promptTokens } }
    public var totalCompletionTokens: Int { records.reduce(0) { $0 + $1.completionTokens } }
}
