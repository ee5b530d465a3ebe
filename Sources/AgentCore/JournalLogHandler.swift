import Foundation
import Logging
import Systemd

/// A swift-log handler that sends structured entries to journald: the message, the syslog
/// priority, and each metadata key as a `KEN_<KEY>` field (so `journalctl KEN_ID=a1b2…` finds
/// every entry about one extension). Used when systemd connected our stderr to the journal.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level, message = event.message, file = event.file, line = event.line
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        var fields: [(name: String, value: String)] = [("SYSLOG_IDENTIFIER", label), ("CODE_FILE", file), ("CODE_LINE", String(line))]
        var suffix: [String] = []
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            let name = "KEN_" + key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            if Journal.isValidFieldName(name) { fields.append((name, "\(value)")) }
            suffix.append("\(key)=\(value)")
        }
        let text = suffix.isEmpty ? "\(message)" : "\(message) " + suffix.joined(separator: " ")
        do {
            try Journal.send(text, priority: Self.priority(level), fields: fields)
        } catch {
            FileHandle.standardError.write(Data("<\(Self.priority(level).rawValue)>\(text)\n".utf8))
        }
    }

    static func priority(_ level: Logger.Level) -> JournalPriority {
        switch level {
        case .trace, .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }
}
