import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import NativeABI

/// What the programs of one object share while they are generated: maps, events, CO-RE
/// records, and the facts about the machine.
final class ObjectState {
    let kernel: KernelInfo
    let resolved: ResolvedProgram
    let maps: MapTable
    var events = EventTable()
    var records = KernelRecords()
    let architecture: String
    /// Set when a probe reads `elapsed` (pass 1 tells pass 2).
    var usesElapsed = false
    /// `#define NAME INTEGER` lines of the program.
    let defines: [String: Int64]

    init(kernel: KernelInfo, resolved: ResolvedProgram, maps: MapTable, architecture: String) {
        self.kernel = kernel
        self.resolved = resolved
        self.maps = maps
        self.architecture = architecture
        self.defines = SupportCheck.defines(resolved.program)
    }

    static func machine() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Assembles the object's C: prelude, CO-RE records, tracepoint contexts, event records,
/// maps, and one function per program; and the plan that describes it.
struct ObjectGenerator {
    let kernel: KernelInfo
    let resolved: ResolvedProgram
    static let eventsMap = "ken_events", lostMap = "ken_lost", scratchMap = "ken_scratch", startMap = "ken_start", stopMap = "ken_stop"
    /// The ring buffer: the plan's default, 256 KiB (what bpftrace gives each CPU). It holds
    /// thousands of records between two reads by the runtime; 512 KiB measured 1,101 KiB per
    /// extension in ken-bench (the agent maps the data pages twice), over the 1 MiB budget.
    static let ringBufferBytes = NativePlan.defaultRingBufferBytes
    /// A per-CPU array value may not exceed 32 KiB.
    static let frameLimit = 32 * 1024

    func generate() throws(NativeCompileError) -> (cSource: String, plan: NativePlan) {
        if let error = resolved.diagnostics.first(where: { $0.severity == .error }) {
            throw .unresolved(error.message)
        }
        try SupportCheck.check(resolved.program)
        let maps = MapTable(program: resolved.program)
        let architecture = ObjectState.machine()
        // Pass 1 learns every map's keys and values (a map may be read in a probe before the
        // one that stores it); pass 2 generates with them.
        let first = ObjectState(kernel: kernel, resolved: resolved, maps: maps, architecture: architecture)
        _ = try emitPrograms(first)
        let state = ObjectState(kernel: kernel, resolved: resolved, maps: maps, architecture: architecture)
        let programs = try emitPrograms(state, startClock: first.usesElapsed)
        return (assemble(state, programs), plan(state, programs))
    }

    struct EmittedProgram {
        var target: ProgramTarget
        var name: String
        var slot: Int
        var emitter: FunctionEmitter
    }

    /// `startClock`: BEGIN stores the start time `elapsed` counts from (a BEGIN is added when
    /// the script has none), so elapsed counts from the extension's start, as in bpftrace.
    private func emitPrograms(_ state: ObjectState, startClock: Bool = false) throws(NativeCompileError) -> [EmittedProgram] {
        var out: [EmittedProgram] = []
        var attachIndex = 0
        var nestedSlots = 0
        var usedNames: Set<String> = []
        for probe in resolved.program.probes {
            for _ in probe.attachPoints {
                guard attachIndex < resolved.attachPoints.count else { throw .unresolved("attach points were not resolved") }
                let resolvedPoint = resolved.attachPoints[attachIndex]
                attachIndex += 1
                for target in try ProbeSections.targets(resolvedPoint, kernel: kernel) {
                    var name = String(("p\(out.count)_" + CLiteral.identifier(target.shortName)).prefix(15))
                    if usedNames.contains(name) { name = "p\(out.count)" }
                    usedNames.insert(name)
                    var slot = 0
                    if target.nests { nestedSlots += 1; slot = nestedSlots }
                    let emitter = FunctionEmitter(object: state, target: target, programName: name)
                    if startClock, target.attach == .begin { emitter.body.line("ken_start_clock();") }
                    if let predicate = probe.predicate {
                        let condition = try emitter.truth(emitter.emit(predicate))
                        emitter.body.line("if (!\(condition))")
                        emitter.body.line("    return 0;")
                    }
                    try emitter.emit(probe.body)
                    if emitter.frameBytes > Self.frameLimit {
                        throw .unsupported(.init("a probe needing more than 32 KiB of scratch memory"))
                    }
                    out.append(EmittedProgram(target: target, name: name, slot: slot, emitter: emitter))
                }
            }
        }
        if out.isEmpty { throw .unresolved("the program has no probes") }
        if startClock, !out.contains(where: { $0.target.attach == .begin }) {
            let target = ProgramTarget(section: "raw_tp", attach: .begin, context: .none, attachPoint: "BEGIN",
                                       shortName: "start", probeName: "BEGIN", nests: true)
            let emitter = FunctionEmitter(object: state, target: target, programName: "ken_begin_clock")
            emitter.body.line("ken_start_clock();")
            nestedSlots += 1
            out.insert(EmittedProgram(target: target, name: "ken_begin_clock", slot: nestedSlots, emitter: emitter), at: 0)
        }
        // clang puts programs in ELF sections by name and libbpf lists them section by
        // section: group them the same way so the C, the plan and the ELF share one order.
        var firstUse: [String: Int] = [:]
        for (i, program) in out.enumerated() where firstUse[program.target.section] == nil {
            firstUse[program.target.section] = i
        }
        return out.enumerated().sorted { (firstUse[$0.element.target.section] ?? 0, $0.offset) < (firstUse[$1.element.target.section] ?? 0, $1.offset) }
            .map(\.element)
    }

    private func assemble(_ state: ObjectState, _ programs: [EmittedProgram]) -> String {
        var w = CWriter()
        for line in CPrelude.text.split(separator: "\n", omittingEmptySubsequences: false) { w.line(String(line)) }
        w.line("char LICENSE[] SEC(\"license\") = \"GPL\";")
        w.line()
        state.records.declare(into: &w)
        var contexts: Set<String> = []
        for program in programs {
            if case let .tracepoint(format) = program.target.context,
               contexts.insert(TracepointContexts.structName(format)).inserted {
                TracepointContexts.declare(format, into: &w)
                w.line()
            }
        }
        state.events.declare(into: &w)
        state.maps.declare(into: &w)
        let frameSize = max(8, programs.map(\.emitter.frameBytes).max() ?? 8)
        let slots = 1 + programs.filter { $0.slot > 0 }.count
        w.line("""
        /* Every record goes through this ring buffer; records it could not take are counted. */
        struct {
            __uint(type, 27); /* BPF_MAP_TYPE_RINGBUF */
            __uint(max_entries, \(Self.ringBufferBytes));
        } \(Self.eventsMap) SEC(".maps");

        struct {
            __uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY */
            __uint(max_entries, 1);
            __type(key, __u32);
            __type(value, __u64);
        } \(Self.lostMap) SEC(".maps");

        /* Scratch frames (strings, keys, records) too big for the 512-byte stack: slot 0 for
         * probes that never nest, one slot per probe that may run inside another or have one
         * run inside it (fentry, fexit, raw tracepoints, BEGIN, END). */
        struct {
            __uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY */
            __uint(max_entries, \(slots));
            __uint(key_size, 4);
            __uint(value_size, \(frameSize));
        } \(Self.scratchMap) SEC(".maps");

        /* elapsed: bpf_ktime_get_ns() at the extension's start (CLOCK_MONOTONIC); written by
         * the runtime, else by the first probe that reads elapsed. */
        struct {
            __uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
            __uint(max_entries, 1);
            __type(key, __u32);
            __type(value, __u64);
        } \(Self.startMap) SEC(".maps");

        /* Set by the runtime when the extension stops: attached probes then do nothing, so
         * nothing lands in a map after END. */
        struct {
            __uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
            __uint(max_entries, 1);
            __type(key, __u32);
            __type(value, __u64);
        } \(Self.stopMap) SEC(".maps");

        KEN_INLINE int ken_stopping(void)
        {
            __u32 zero = 0;
            __u64 *stop = bpf_map_lookup_elem(&\(Self.stopMap), &zero);
            return stop && *stop;
        }

        KEN_INLINE void ken_output(void *record, __u64 size)
        {
            if (bpf_ringbuf_output(&\(Self.eventsMap), record, size, 0)) {
                __u32 zero = 0;
                __u64 *lost = bpf_map_lookup_elem(&\(Self.lostMap), &zero);
                if (lost)
                    *lost += 1;
            }
        }

        /* BEGIN: elapsed counts from now. */
        KEN_INLINE void ken_start_clock(void)
        {
            __u32 zero = 0;
            __u64 now = bpf_ktime_get_ns();
            bpf_map_update_elem(&\(Self.startMap), &zero, &now, 0);
        }

        KEN_INLINE __u64 ken_elapsed(void)
        {
            __u32 zero = 0;
            __u64 now = bpf_ktime_get_ns();
            __u64 *start = bpf_map_lookup_elem(&\(Self.startMap), &zero);
            if (!start)
                return 0;
            if (*start == 0)
                *start = now;
            return now - *start;
        }

        """)
        for program in programs {
            let e = program.emitter
            let frameType = "ken_frame_\(program.name)"
            w.block("struct \(frameType)", trailer: ";") { w in
                if e.frame.isEmpty { w.line("__u64 __unused;") }
                for member in e.frame { w.line(member) }
            }
            w.line("_Static_assert(sizeof(struct \(frameType)) <= \(frameSize), \"the frame fits the scratch value\");")
            w.line()
            w.line("/* \(program.target.attachPoint.replacingOccurrences(of: "*/", with: "* /")) */")
            w.line("SEC(\"\(program.target.section)\")")
            let parameter: String
            if case let .tracepoint(format) = program.target.context {
                parameter = "struct \(TracepointContexts.structName(format)) *args"
            } else {
                parameter = "__u64 *ctx"
            }
            w.block("int \(program.name)(\(parameter))") { w in
                if program.target.attach != .begin, program.target.attach != .end {
                    w.line("if (ken_stopping())")
                    w.line("    return 0;")
                }
                w.line("__u32 slot = \(program.slot);")
                w.line("struct \(frameType) *f = bpf_map_lookup_elem(&\(Self.scratchMap), &slot);")
                w.line("if (!f)")
                w.line("    return 0;")
                for local in e.locals { w.line(local) }
                w.append(e.body)
                w.line("return 0;")
            }
            w.line()
        }
        return w.text
    }

    private func plan(_ state: ObjectState, _ programs: [EmittedProgram]) -> NativePlan {
        var plan = NativePlan(
            probes: programs.map { NativeProbe(programName: $0.name, attachPoint: $0.target.attachPoint, attach: $0.target.attach) },
            maps: state.maps.plan, events: state.events.events,
            eventsMapName: Self.eventsMap, lostMapName: Self.lostMap, ringBufferBytes: Self.ringBufferBytes)
        plan.startTimeMapName = Self.startMap
        plan.stopFlagMapName = Self.stopMap
        return plan
    }
}
