import NativeABI

/// The ring-buffer records the program writes: one id per distinct event (printf site and
/// argument layout, print, clear, …), each a C struct `{ __u64 id; fields… }`.
final class EventTable {
    private(set) var events: [NativeEvent] = []
    /// The C struct of each event id that carries fields.
    private(set) var layouts: [Int: RecordLayout] = [:]

    /// The id of `event`, adding it (and its record layout) when new.
    func id(of event: NativeEvent, layout: RecordLayout?) -> Int {
        if let i = events.firstIndex(of: event) { return i }
        events.append(event)
        if let layout { layouts[events.count - 1] = layout }
        return events.count - 1
    }

    static func structName(_ id: Int) -> String { "ken_ev_\(id)" }

    static func fieldName(_ index: Int) -> String { "a\(index)" }

    /// Size in bytes of event `id`'s record.
    func recordSize(_ id: Int) -> Int { layouts[id]?.size ?? 8 }

    func declare(into w: inout CWriter) {
        for (id, event) in events.enumerated() {
            w.line("/* event \(id): \(Self.summary(event)) */")
            w.block("struct \(Self.structName(id))", trailer: ";") { w in
                w.line("__u64 id;")
                if let layout = layouts[id] {
                    for member in layout.cMembers(names: layout.fields.indices.map(Self.fieldName), start: 8) { w.line(member) }
                }
            }
        }
        if !events.isEmpty { w.line() }
    }

    static func summary(_ event: NativeEvent) -> String {
        switch event {
        case let .printf(format, arguments):
            let shown = String(format.prefix(40)).replacingOccurrences(of: "*/", with: "* /")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "printf(\"\(shown)\") with \(arguments.count) argument(s)"
        case let .printMap(map, _, _): return "print(@\(map))"
        case .printValue: return "print(value)"
        case let .clear(map): return "clear(@\(map))"
        case let .zero(map): return "zero(@\(map))"
        case .time: return "time()"
        case .exit: return "exit()"
        case .join: return "join()"
        }
    }
}
