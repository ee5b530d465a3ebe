import Foundation

/// The kernel's tracing filesystem: which tracepoints exist and their formats.
///
/// Listing reads one file (`available_events`); formats are parsed on first use and cached,
/// because a check touches a handful of the ~2,000 events.
public final class Tracefs: Sendable {
    /// The mount point in use, e.g. `/sys/kernel/tracing`.
    public let root: String
    /// Category → sorted event names.
    public let events: [String: [String]]
    /// Whether the kernel can create kprobes (`kprobe_events` exists only with
    /// CONFIG_KPROBE_EVENTS).
    public let kprobesAvailable: Bool
    /// `available_filter_functions` names (functions kprobes/ftrace can attach to); nil when
    /// the file is absent or unreadable (it is root-only, and locked down on some kernels).
    public let filterFunctions: Set<String>?
    private let btf: KernelBTF?
    private let cache = FormatCache()

    /// Standard mount points, the modern one first, then the copy ken-agent publishes for
    /// unprivileged readers (tracefs itself is root-only): kend runs as `ken`.
    public static let defaultRoots = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/run/ken/tracing"]

    /// Opens the first tracefs among `roots` whose `available_events` is readable.
    public init(roots: [String] = Tracefs.defaultRoots, btf: KernelBTF? = nil,
                readFilterFunctions: Bool = true) throws(KernelInfoError) {
        var found: (String, String)?
        for root in roots {
            if let text = FileReading.readFile(root + "/available_events") {
                found = (root, text)
                break
            }
        }
        guard let (root, text) = found else { throw .tracefsUnavailable }
        self.root = root
        self.btf = btf
        var events: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            events[String(line[..<colon]), default: []].append(String(line[line.index(after: colon)...]))
        }
        for key in events.keys { events[key]?.sort() }
        self.events = events
        self.kprobesAvailable = FileReading.exists(root + "/kprobe_events")
        if readFilterFunctions, let text = FileReading.readFile(root + "/available_filter_functions") {
            var names = Set<String>()
            for line in text.split(separator: "\n") {
                // Lines are `name` or `name [module]`.
                let name = line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
                if !name.isEmpty { names.insert(name) }
            }
            self.filterFunctions = names
        } else {
            self.filterFunctions = nil
        }
    }

    public var categories: [String] { events.keys.sorted() }

    /// Every tracepoint as `category:name`, sorted.
    public var allTracepoints: [String] {
        events.keys.sorted().flatMap { category in events[category, default: []].map { category + ":" + $0 } }
    }

    public func contains(category: String, name: String) -> Bool {
        events[category]?.contains(name) ?? false
    }

    /// The parsed format of `category:name`, cached after the first read.
    public func format(category: String, name: String) throws(KernelInfoError) -> TracepointFormat {
        let key = category + ":" + name
        if let hit = cache.get(key) { return hit }
        guard contains(category: category, name: name) else {
            throw .noSuchTracepoint(category: category, name: name)
        }
        let path = "\(root)/events/\(category)/\(name)/format"
        guard let text = FileReading.readFile(path) else { throw .unreadable(path: path) }
        let format = try TracepointFormatParser.parse(text, category: category, name: name, path: path, btf: btf)
        cache.set(key, format)
        return format
    }
}

/// A lock-protected dictionary: formats are immutable once parsed, so a plain lock around
/// get/set is all the sharing needs.
final class FormatCache: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String: TracepointFormat] = [:]

    func get(_ key: String) -> TracepointFormat? {
        lock.lock()
        defer { lock.unlock() }
        return storage[key]
    }

    func set(_ key: String, _ value: TracepointFormat) {
        lock.lock()
        defer { lock.unlock() }
        storage[key] = value
    }
}
