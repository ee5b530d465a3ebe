import Foundation

/// Probe kinds whose targets come from the kernel (others — BEGIN, profile, uprobe … — need
/// no kernel catalogue).
public enum KernelProbeKind: String, Sendable, Hashable, CaseIterable {
    /// `tracepoint:category:name`; names are `category:name`.
    case tracepoint
    /// `rawtracepoint:name` (and tp_btf): BTF `btf_trace_<name>` typedefs.
    case rawTracepoint
    /// `kprobe:`/`kretprobe:` targets.
    case kprobe
    /// `kfunc:`/`kretfunc:` (fentry/fexit) targets: BTF FUNC entries.
    case kfunc
}

/// What this kernel offers to attach to: names per probe kind, wildcard expansion and
/// "did you mean" suggestions.
public final class ProbeCatalogue: Sendable {
    public let tracefs: Tracefs?
    public let btf: KernelBTF?
    private let indexes = SuggestionIndexCache<KernelProbeKind>()

    public init(tracefs: Tracefs?, btf: KernelBTF?) {
        self.tracefs = tracefs
        self.btf = btf
    }

    /// Why a whole probe kind cannot be used on this kernel, or nil when it can.
    public func unavailableReason(_ kind: KernelProbeKind) -> String? {
        switch kind {
        case .tracepoint:
            return tracefs == nil
                ? "tracefs is not mounted or not readable, so tracepoints cannot be listed (as a user other than root, start ken-agent: it publishes a readable copy in /run/ken/tracing)"
                : nil
        case .rawTracepoint, .kfunc:
            return btf == nil ? "this kernel has no BTF (/sys/kernel/btf/vmlinux)" : nil
        case .kprobe:
            guard let tracefs else { return "tracefs is not mounted, so kprobes cannot be created" }
            return tracefs.kprobesAvailable ? nil
                : "kprobes are not available on this kernel (built without CONFIG_KPROBE_EVENTS: no kprobe_events in \(tracefs.root))"
        }
    }

    /// Every target name of `kind`, sorted (`category:name` for tracepoints).
    public func names(_ kind: KernelProbeKind) -> [String] {
        switch kind {
        case .tracepoint:
            return tracefs?.allTracepoints ?? []
        case .rawTracepoint:
            return btf?.rawTracepointNames ?? []
        case .kfunc:
            return btf?.functionNames ?? []
        case .kprobe:
            guard let tracefs, tracefs.kprobesAvailable else { return [] }
            if let functions = tracefs.filterFunctions { return functions.sorted() }
            return btf?.functionNames ?? []
        }
    }

    /// Whether `name` (no wildcards) is a target of `kind`.
    public func contains(_ kind: KernelProbeKind, _ name: String) -> Bool {
        switch kind {
        case .tracepoint:
            guard let colon = name.firstIndex(of: ":") else { return false }
            return tracefs?.contains(category: String(name[..<colon]),
                                     name: String(name[name.index(after: colon)...])) ?? false
        case .rawTracepoint:
            return btf?.hasRawTracepoint(name) ?? false
        case .kfunc:
            return btf?.hasFunction(name) ?? false
        case .kprobe:
            guard let tracefs, tracefs.kprobesAvailable else { return false }
            if let functions = tracefs.filterFunctions { return functions.contains(name) }
            return btf?.hasFunction(name) ?? false
        }
    }

    /// The targets matching `pattern` (`*` and `?` wildcards), sorted. For tracepoints the
    /// pattern is `category:name`; category and name are matched separately so `*` never
    /// crosses the colon.
    public func expand(_ kind: KernelProbeKind, _ pattern: String) -> [String] {
        guard Glob.hasWildcard(pattern) else {
            return contains(kind, pattern) ? [pattern] : []
        }
        if kind == .tracepoint, let tracefs {
            guard let colon = pattern.firstIndex(of: ":") else { return [] }
            let categoryPattern = String(pattern[..<colon])
            let namePattern = String(pattern[pattern.index(after: colon)...])
            var out: [String] = []
            for category in tracefs.categories where Glob.matches(categoryPattern, category) {
                for name in Glob.filter(tracefs.events[category] ?? [], namePattern) {
                    out.append(category + ":" + name)
                }
            }
            return out
        }
        return Glob.filter(names(kind), pattern)
    }

    /// Tracepoints (`category:name`) whose event name is exactly `function`: the stable
    /// alternative to a kprobe when one exists (e.g. `tcp:tcp_retransmit_skb`).
    public func tracepoints(namedAfter function: String) -> [String] {
        guard let tracefs else { return [] }
        return tracefs.categories.filter { tracefs.events[$0]?.contains(function) ?? false }.map { $0 + ":" + function }
    }

    /// Closest existing names to `name`, nearest first.
    public func suggestions(_ kind: KernelProbeKind, for name: String, limit: Int = 3) -> [String] {
        let index = indexes.index(for: kind) {
            if kind == .kfunc, let btf { return SuggestionIndex(btf.unorderedFunctionNames) }
            return SuggestionIndex(names(kind))
        }
        return index.suggestions(for: name, limit: limit)
    }
}
