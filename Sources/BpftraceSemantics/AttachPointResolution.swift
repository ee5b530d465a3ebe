import BpftraceSyntax
import Foundation
import KernelInfo

extension ResolutionPass {
    /// Checks one attach point against the kernel catalogue, adds what it means for `args`
    /// to the probe context, and returns its concrete targets.
    func resolveAttachPoint(_ ap: AttachPoint) -> [String] {
        context.kinds.insert(ap.kind)
        let kind: KernelProbeKind
        let pattern: String
        let parts = ap.target.map(Self.unquoted)
        switch ap.kind {
        case .tracepoint:
            guard parts.count == 2 else {
                let named = parts.count == 1 ? kernel.catalogue.tracepoints(namedAfter: parts[0]) : []
                let hint = named.isEmpty ? nil
                    : "did you mean " + named.map { "'\(ap.provider):\($0)'" }.joined(separator: " or ") + "?"
                error("tracepoint '\(ap.text)' must be written as tracepoint:CATEGORY:NAME", at: ap.range, hint: hint)
                context.hasUnresolvedTargets = true
                return []
            }
            kind = .tracepoint
            pattern = parts.joined(separator: ":")
        case .rawtracepoint:
            kind = .rawTracepoint
            pattern = parts.last ?? ""
        case .kprobe, .kretprobe:
            kind = .kprobe
            // `kprobe:func+0x10` attaches inside func; `kprobe:module:func` names a module.
            let last = parts.last ?? ""
            pattern = last.split(separator: "+", maxSplits: 1).first.map(String.init) ?? last
        case .fentry, .fexit:
            kind = .kfunc
            pattern = parts.last ?? ""
        case .iter:
            // An iterator target NAME exists when the kernel defines `bpf_iter_NAME`
            // (DEFINE_BPF_ITER_FUNC emits that function into BTF).
            guard let btf = kernel.btf, let name = parts.first, !name.isEmpty, !Glob.hasWildcard(name) else { return [] }
            if btf.hasFunction("bpf_iter_" + name) { return [name] }
            let iterators = btf.unorderedFunctionNames.filter { $0.hasPrefix("bpf_iter_") }.map { String($0.dropFirst(9)) }
            let close = SuggestionIndex(iterators).suggestions(for: name, limit: 2)
            error("unknown iterator '\(name)'", at: ap.range,
                  hint: close.isEmpty ? nil : "did you mean " + close.map { "'\(ap.provider):\($0)'" }.joined(separator: " or ") + "?")
            return []
        case .uprobe, .uretprobe, .usdt:
            // An absolute binary path must exist (library names such as `libc` are searched
            // by bpftrace itself and are not checked here).
            if parts.count >= 2, parts[0].hasPrefix("/"), !Glob.hasWildcard(parts[0]),
               !FileManager.default.fileExists(atPath: parts[0]) {
                error("no such file '\(parts[0])' for '\(ap.text)'", at: ap.range)
            }
            return []
        default:
            return []
        }
        guard !pattern.isEmpty else {
            error("'\(ap.text)' names no target", at: ap.range)
            context.hasUnresolvedTargets = true
            return []
        }
        let catalogue = kernel.catalogue
        if let reason = catalogue.unavailableReason(kind) {
            var hint: String?
            if kind == .kprobe, !Glob.hasWildcard(pattern) {
                var options = catalogue.tracepoints(namedAfter: pattern).map { "tracepoint:\($0) is a tracepoint of the same name" }
                if kernel.btf?.hasFunction(pattern) == true {
                    options.append("\(ap.kind == .kretprobe ? "kretfunc" : "kfunc"):\(pattern) attaches to the same function through BTF")
                }
                hint = options.isEmpty ? nil : options.joined(separator: "; ")
            }
            error("cannot attach '\(ap.text)': \(reason)", at: ap.range, hint: hint)
            context.hasUnresolvedTargets = true
            return []
        }
        let targets = catalogue.expand(kind, pattern)
        guard !targets.isEmpty else {
            context.hasUnresolvedTargets = true
            let noun = Self.noun(kind)
            if Glob.hasWildcard(pattern) {
                error("no \(noun) matches '\(pattern)'", at: ap.range)
            } else {
                let close = catalogue.suggestions(kind, for: pattern)
                let hint = close.isEmpty ? nil
                    : "did you mean " + close.map { "'\(ap.provider):\($0)'" }.joined(separator: " or ") + "?"
                error("unknown \(noun) '\(pattern)'", at: ap.range, hint: hint)
            }
            return []
        }
        switch kind {
        case .tracepoint:
            for target in targets {
                let pieces = target.split(separator: ":", maxSplits: 1).map(String.init)
                guard pieces.count == 2, let tracefs = kernel.tracefs else { continue }
                do {
                    context.tracepoints.append(try tracefs.format(category: pieces[0], name: pieces[1]))
                } catch {
                    self.error("cannot read the format of tracepoint '\(target)': \(error)", at: ap.range)
                    context.hasUnresolvedTargets = true
                }
            }
        case .rawTracepoint:
            context.functions += targets.compactMap { kernel.btf?.rawTracepoint(named: $0) }
        case .kfunc:
            context.functions += targets.compactMap { kernel.btf?.function(named: $0) }
        case .kprobe:
            break
        }
        return targets
    }

    static func noun(_ kind: KernelProbeKind) -> String {
        switch kind {
        case .tracepoint: return "tracepoint"
        case .rawTracepoint: return "raw tracepoint"
        case .kprobe: return "kprobe target"
        case .kfunc: return "kernel function"
        }
    }

    static func unquoted(_ s: String) -> String {
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { return String(s.dropFirst().dropLast()) }
        return s
    }
}
