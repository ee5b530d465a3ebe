import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// What a program's context is, which decides how `args`, `argN` and `retval` are read.
enum ProgramContext {
    /// A tracepoint: the record the kernel wrote, as laid out in the tracefs format.
    case tracepoint(TracepointFormat)
    /// raw_tp, fentry, fexit: `__u64 ctx[]`, one slot per argument (fexit: then the return value).
    case arguments(KernelFunction?, returnSlot: Bool)
    /// kprobe, kretprobe, uprobe, uretprobe: `struct pt_regs`.
    case registers(returnProbe: Bool, userMemory: Bool)
    /// profile, interval: `struct bpf_perf_event_data`.
    case perfEvent
    /// BEGIN, END: run by BPF_PROG_TEST_RUN, nothing to read.
    case none
}

/// One BPF program to generate: a probe's body for one concrete attach target.
struct ProgramTarget {
    var section: String
    var attach: NativeAttach
    var context: ProgramContext
    /// The attach point as written, for the plan.
    var attachPoint: String
    /// A short name for the program (target name).
    var shortName: String
    /// What `probe` gives in this program: the attach point with its wildcard expanded
    /// (`tracepoint:syscalls:sys_enter_openat` for `tracepoint:syscalls:sys_enter_open*`).
    var probeName: String = ""
    /// fentry/fexit/raw_tp programs (and BEGIN/END, run by BPF_PROG_TEST_RUN) can run nested
    /// inside another probe on the same CPU, or have one run inside them, so they get a
    /// scratch frame of their own.
    var nests: Bool
}

/// The ELF section (libbpf attach spelling) and context of each attach point kind.
enum ProbeSections {
    static func targets(_ resolved: ResolvedAttachPoint, kernel: KernelInfo) throws(NativeCompileError) -> [ProgramTarget] {
        try programs(resolved, kernel: kernel).map { target in
            var named = target
            switch resolved.attachPoint.kind {
            case .tracepoint, .rawtracepoint, .fentry, .fexit, .kprobe, .kretprobe:
                // The section is `kind/target` (tracepoints: `tracepoint/category/name`).
                let expanded = target.section.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? target.shortName
                named.probeName = resolved.attachPoint.provider + ":" + expanded.replacingOccurrences(of: "/", with: ":")
            default:
                named.probeName = target.attachPoint
            }
            return named
        }
    }

    private static func programs(_ resolved: ResolvedAttachPoint, kernel: KernelInfo) throws(NativeCompileError) -> [ProgramTarget] {
        let ap = resolved.attachPoint
        let text = ap.text
        switch ap.kind {
        case .begin:
            // BPF_PROG_TEST_RUN does not mark the CPU busy as trace_call_bpf does, so an
            // interrupt's probe may run inside BEGIN/END: they get frames of their own.
            return [ProgramTarget(section: "raw_tp", attach: .begin, context: .none, attachPoint: text, shortName: "BEGIN", nests: true)]
        case .end:
            return [ProgramTarget(section: "raw_tp", attach: .end, context: .none, attachPoint: text, shortName: "END", nests: true)]
        case .tracepoint:
            guard let tracefs = kernel.tracefs else { throw .unresolved("tracefs is not available to read '\(text)'") }
            return try resolved.targets.map { target throws(NativeCompileError) in
                let parts = target.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw .unresolved("bad tracepoint target '\(target)'") }
                let format: TracepointFormat
                do { format = try tracefs.format(category: parts[0], name: parts[1]) } catch {
                    throw .unresolved("cannot read the format of tracepoint '\(target)': \(error)")
                }
                return ProgramTarget(section: "tracepoint/\(parts[0])/\(parts[1])", attach: .section, context: .tracepoint(format),
                                     attachPoint: text, shortName: parts[1], nests: false)
            }
        case .rawtracepoint:
            return resolved.targets.map { target in
                ProgramTarget(section: "raw_tp/\(target)", attach: .section,
                              context: .arguments(kernel.btf?.rawTracepoint(named: target), returnSlot: false),
                              attachPoint: text, shortName: target, nests: true)
            }
        case .fentry, .fexit:
            let exit = ap.kind == .fexit
            return resolved.targets.map { target in
                ProgramTarget(section: (exit ? "fexit/" : "fentry/") + target, attach: .section,
                              context: .arguments(kernel.btf?.function(named: target), returnSlot: exit),
                              attachPoint: text, shortName: target, nests: true)
            }
        case .kprobe, .kretprobe:
            let ret = ap.kind == .kretprobe
            return resolved.targets.map { target in
                ProgramTarget(section: (ret ? "kretprobe/" : "kprobe/") + target, attach: .section,
                              context: .registers(returnProbe: ret, userMemory: false),
                              attachPoint: text, shortName: target, nests: false)
            }
        case .uprobe, .uretprobe:
            let parts = ap.target.map { $0.count >= 2 && $0.hasPrefix("\"") && $0.hasSuffix("\"") ? String($0.dropFirst().dropLast()) : $0 }
            guard parts.count == 2, !parts.contains(where: { $0.contains("*") || $0.contains("?") }) else {
                throw .unsupported(.init("uprobe targets other than BINARY:FUNCTION"))
            }
            let ret = ap.kind == .uretprobe
            let binary = try UprobeBinary.resolve(parts[0])
            // bpftrace 0.17 skips an attach point whose function the file does not define
            // (ssllatency.bt's `uprobe:libcrypto:rsa_ossl_public_encrypt`: a static function,
            // stripped) and attaches the others; so does the generator.
            if !UprobeBinary.defines(binary, function: parts[1]) { return [] }
            return [ProgramTarget(section: (ret ? "uretprobe/" : "uprobe/") + binary + ":" + parts[1], attach: .section,
                                  context: .registers(returnProbe: ret, userMemory: true),
                                  attachPoint: text, shortName: parts[1], nests: false)]
        case .interval, .profile:
            guard let ns = period(ap.target) else {
                throw .unsupported(.init("\(ap.kind.rawValue) period '\(ap.target.joined(separator: ":"))'"))
            }
            let attach: NativeAttach = ap.kind == .interval ? .interval(nanoseconds: ns) : .profile(nanoseconds: ns)
            return [ProgramTarget(section: "perf_event", attach: attach, context: .perfEvent, attachPoint: text,
                                  shortName: ap.kind.rawValue, nests: false)]
        case .usdt: throw .unsupported(.init("usdt probes"))
        case .software, .hardware: throw .unsupported(.init("\(ap.kind.rawValue) probes"))
        case .watchpoint, .asyncwatchpoint: throw .unsupported(.init("watchpoints"))
        case .iter: throw .unsupported(.init("iterators"))
        }
    }

    /// `interval:s:1`, `profile:hz:99`, `interval:1s` (0.21+) → nanoseconds.
    static func period(_ target: [String]) -> UInt64? {
        let unit: String
        let count: String
        if target.count == 2 {
            (unit, count) = (target[0], target[1])
        } else if target.count == 1 {
            let text = target[0]
            let digits = text.prefix { $0.isNumber }
            (unit, count) = (String(text.dropFirst(digits.count)), String(digits))
        } else {
            return nil
        }
        guard let n = UInt64(count), n > 0 else { return nil }
        let scale: UInt64
        switch unit {
        case "hz": return n <= 1_000_000_000 ? 1_000_000_000 / n : nil
        case "s": scale = 1_000_000_000
        case "ms": scale = 1_000_000
        case "us": scale = 1_000
        case "ns": scale = 1
        case "m", "min": scale = 60_000_000_000
        default: return nil
        }
        let (ns, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : ns
    }
}
