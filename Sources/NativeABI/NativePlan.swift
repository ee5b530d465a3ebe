/// The contract between the C that `NativeBackend` generates for a bpftrace program and the
/// agent's output runtime (`NativeRuntime`) that loads it and prints what it reports.
///
/// The generated object does in the kernel what must happen at the event (read fields, update
/// maps, send signals); everything bpftrace does in user space (formatting `printf`, printing
/// maps, `clear`/`zero`, `time()`, `exit()`, running BEGIN/END) is an *event* the program writes
/// to one ring buffer, or a step the runtime takes. The plan says how to read each event's bytes
/// and each map's keys and values, so the runtime never parses C or the script again.
///
/// The plan is `Codable` because the registry keeps it beside the object: a restarted agent
/// adopts a running native extension from its pins and its plan alone.
///
/// Byte layouts are little-endian (x86-64, arm64) with C's natural alignment, as clang lays out
/// the structs the generator writes; every offset here is the one the generator used.
public struct NativePlan: Codable, Sendable, Hashable {
    /// Bumped when a layout below changes meaning; the agent regenerates older plans.
    public static let currentVersion = 1

    public var version: Int
    /// One entry per BPF program in the object, in ELF order.
    public var probes: [NativeProbe]
    /// The script's maps (`@name`), in first-use order.
    public var maps: [NativeMap]
    /// Event id `i` is `events[i]`. Every ring-buffer record starts with a `__u64` event id.
    public var events: [NativeEvent]
    /// The `BPF_MAP_TYPE_RINGBUF` every event goes through.
    public var eventsMapName: String
    /// A one-entry `BPF_MAP_TYPE_PERCPU_ARRAY` of `__u64`: records the program could not
    /// reserve in the ring buffer (it was full). The runtime reports them as lost events.
    public var lostMapName: String
    /// Size of the ring buffer in bytes (a power of two, at least one page). The runtime sets
    /// the map to this size before loading, whatever the object declares.
    public var ringBufferBytes: Int
    /// A one-entry `BPF_MAP_TYPE_ARRAY` of `__u64`: `elapsed` is `bpf_ktime_get_ns()` minus this
    /// value. When the script reads `elapsed`, its BEGIN programs store the time there first (the
    /// generator adds a BEGIN program when the script has none), so the runtime need do nothing;
    /// if nothing stored it, the first probe that reads `elapsed` stores its own time.
    /// nil in plans of objects generated before the field existed.
    public var startTimeMapName: String?
    /// A one-entry `BPF_MAP_TYPE_ARRAY` of `__u64`: every attached probe returns at once while
    /// it is non-zero. The runtime sets it when the extension stops, before detaching and END,
    /// so no probe changes a map after END (its `clear()` is final, as under bpftrace) without
    /// waiting for the kernel to release the links. nil in plans of objects generated before
    /// the field existed: the runtime then waits for the links to go and an RCU grace period.
    public var stopFlagMapName: String?

    /// 256 KiB: what bpftrace gives each CPU's perf buffer (64 pages). Kernel memory is the
    /// size; the agent maps the data pages twice (libbpf's wrap-around view), which counts in
    /// its RSS but is the same kernel memory. 4 MiB per extension would break the < 1 MiB
    /// per-extension budget.
    public static let defaultRingBufferBytes = 1 << 18

    public init(version: Int = NativePlan.currentVersion, probes: [NativeProbe] = [], maps: [NativeMap] = [],
                events: [NativeEvent] = [], eventsMapName: String = "ken_events",
                lostMapName: String = "ken_lost", ringBufferBytes: Int = NativePlan.defaultRingBufferBytes) {
        self.version = version
        self.probes = probes
        self.maps = maps
        self.events = events
        self.eventsMapName = eventsMapName
        self.lostMapName = lostMapName
        self.ringBufferBytes = ringBufferBytes
    }

    public func map(named name: String) -> NativeMap? { maps.first { $0.name == name } }
}

// MARK: - Probes

/// One BPF program of the object and how it runs.
public struct NativeProbe: Codable, Sendable, Hashable {
    /// The program's (C function's) name in the object; also its pin name.
    public var programName: String
    /// The bpftrace attach point it implements, as written (`tracepoint:syscalls:sys_enter_openat`).
    public var attachPoint: String
    public var attach: NativeAttach

    public init(programName: String, attachPoint: String, attach: NativeAttach) {
        self.programName = programName
        self.attachPoint = attachPoint
        self.attach = attach
    }
}

/// How the runtime makes a program run.
public enum NativeAttach: Codable, Sendable, Hashable {
    /// libbpf attaches it the way its ELF section says (`tracepoint/…`, `raw_tp/…`, `tp_btf/…`,
    /// `kprobe/…`, `fentry/…`, `uprobe/…`); the link is pinned.
    case section
    /// BEGIN: a `raw_tp` program run once with `BPF_PROG_TEST_RUN` after every other probe is
    /// attached. Never run by a verify-only load.
    case begin
    /// END: run once with `BPF_PROG_TEST_RUN` when the extension stops (detach, `exit()`), after
    /// the other probes are detached and before the maps are printed.
    case end
    /// `interval:…`: a perf event (software cpu-clock) on one CPU firing every `nanoseconds`.
    case interval(nanoseconds: UInt64)
    /// `profile:…`: a perf event (software cpu-clock) on every online CPU firing every
    /// `nanoseconds`.
    case profile(nanoseconds: UInt64)
}

// MARK: - Values

/// How a value is stored in an event or a map key or value.
public indirect enum NativeType: Codable, Sendable, Hashable {
    /// A little-endian integer of `bits / 8` bytes.
    case integer(bits: Int, signed: Bool)
    /// One byte, 0 or 1.
    case boolean
    /// `size` bytes, NUL-terminated (all zero after the first NUL).
    case string(size: Int)
    /// `kstack`: `depth` `__u64` instruction pointers, the unused tail zero. Symbolized from
    /// /proc/kallsyms by the runtime.
    case kernelStack(depth: Int)
    /// `ksym(addr)`: a `__u64` kernel address, symbolized by the runtime.
    case kernelSymbol
    /// `ntop()`: a `__u64` address family (2: AF_INET, 10: AF_INET6) then 16 address bytes.
    case inet
    /// `username`: a `__u64` uid, printed as the user's name by the runtime.
    case username
    /// A tuple `(a, b, …)`: its elements at their offsets from the tuple's start.
    case tuple([NativeField])

    /// Bytes the value occupies.
    public var size: Int {
        switch self {
        case let .integer(bits, _): return bits / 8
        case .boolean: return 1
        case let .string(size): return size
        case let .kernelStack(depth): return depth * 8
        case .kernelSymbol, .username: return 8
        case .inet: return 24
        case let .tuple(fields): return fields.map { $0.offset + $0.type.size }.max().map { ($0 + 7) / 8 * 8 } ?? 0
        }
    }
}

/// A value at a byte offset (in an event record, a key, or a tuple).
public struct NativeField: Codable, Sendable, Hashable {
    public var offset: Int
    public var type: NativeType

    public init(offset: Int, type: NativeType) {
        self.offset = offset
        self.type = type
    }
}

// MARK: - Maps

/// One script map (`@name`) as a BPF map.
///
/// A map without keys (`@x = 1`) has one `__u64` key, always 0. Keys with several parts are a
/// struct of the parts at `keyFields`' offsets, `keySize` bytes in all (padding zeroed).
public struct NativeMap: Codable, Sendable, Hashable {
    /// The script's name without `@` (empty for the anonymous map `@`).
    public var name: String
    /// The BPF map's name in the object (at most 15 characters, as the kernel keeps them).
    public var bpfName: String
    /// The key parts, in the script's order; empty for a map without keys.
    public var keyFields: [NativeField]
    public var keySize: Int
    public var value: NativeMapValue
    public var valueSize: Int
    /// `BPF_MAP_TYPE_PERCPU_HASH` (aggregations): the runtime adds up every CPU's slot.
    public var perCPU: Bool
    /// `BPF_MAP_TYPE_LRU_HASH` / `LRU_PERCPU_HASH` (declared `lruhash`).
    public var lru: Bool
    public var maxEntries: Int

    public init(name: String, bpfName: String, keyFields: [NativeField], keySize: Int, value: NativeMapValue,
                valueSize: Int, perCPU: Bool, lru: Bool = false, maxEntries: Int = 4096) {
        self.name = name
        self.bpfName = bpfName
        self.keyFields = keyFields
        self.keySize = keySize
        self.value = value
        self.valueSize = valueSize
        self.perCPU = perCPU
        self.lru = lru
        self.maxEntries = maxEntries
    }

    /// `@name` as bpftrace prints it.
    public var displayName: String { "@" + name }
}

/// What a map's values are, and their byte layout (per CPU for per-CPU maps).
public enum NativeMapValue: Codable, Sendable, Hashable {
    /// A plain value (`@m[k] = v`).
    case value(NativeType)
    /// `count()`, `sum(v)`: one `__s64`; CPUs add up.
    case count, sum
    /// `min(v)`, `max(v)`: `struct { __s64 value; __u64 set; }`; across CPUs the least/greatest
    /// of the slots whose `set` is non-zero.
    case min, max
    /// `avg(v)`, `stats(v)`: `struct { __s64 total; __u64 count; }`; CPUs add up. avg prints
    /// total / count (integer division, 0 for no count).
    case avg, stats
    /// `hist(v)`: `__u64 buckets[66]`: bucket 0 counts negative values, 1 counts 0, and
    /// `2 + k` counts values in [2^k, 2^(k+1)). CPUs add up.
    case hist
    /// `lhist(v, min, max, step)`: `__u64 buckets[(max - min) / step + 2]`: bucket 0 counts
    /// values below `min`, bucket `1 + (v - min) / step` values in range, the last one values
    /// at or above `max`. CPUs add up.
    case linearHist(min: Int64, max: Int64, step: Int64)

    public static let histBuckets = 66

    public static func linearHistBuckets(min: Int64, max: Int64, step: Int64) -> Int {
        Int((max - min) / step) + 2
    }
}

// MARK: - Events

/// One kind of ring-buffer record. The record is `struct { __u64 id; … }`; field offsets are
/// from the record's start (so the first field is at 8 or later).
public enum NativeEvent: Codable, Sendable, Hashable {
    /// `printf(format, args…)`: the runtime formats with bpftrace's specifiers (`%d %u %x %s
    /// %c %p %lu %llx %-10s %5d`, …) using each argument's type.
    case printf(format: String, arguments: [NativeField])
    /// `print(@m)`, `print(@m, top)`, `print(@m, top, div)`: the map as it is when the runtime
    /// reads the event (bpftrace reads it asynchronously too). top/div 0: not given.
    case printMap(map: String, top: Int, divisor: Int)
    /// `print(value)` of a non-map value.
    case printValue(NativeField)
    /// `clear(@m)` / `zero(@m)`: done by the runtime when it reads the event, as bpftrace does.
    case clear(map: String)
    case zero(map: String)
    /// `time()` / `time(fmt)`: local time when the runtime reads the event (default `%H:%M:%S\n`).
    case time(format: String?)
    /// `exit()`: the runtime stops the extension: detach probes, run END, print maps.
    case exit
    /// `join(array[, delimiter])`: the joined string (a NUL-terminated `string(size:)` field),
    /// printed as bpftrace 0.17 does: its own `join` output line, no newline added. Added after
    /// version 1's first plans; older plans never contain it (they printed join as printf).
    case join(NativeField)
}

// MARK: - The artifact

/// What the generator produces for one script and the agent keeps in its registry: the C it
/// generated (for `kenc show` and audits), the compiled object, the plan, and the kernel release
/// the object was generated for (a reboot into another release regenerates it).
public struct NativeArtifact: Codable, Sendable, Hashable {
    public var cSource: String
    public var object: [UInt8]
    public var plan: NativePlan
    public var kernelRelease: String

    public init(cSource: String, object: [UInt8], plan: NativePlan, kernelRelease: String) {
        self.cSource = cSource
        self.object = object
        self.plan = plan
        self.kernelRelease = kernelRelease
    }
}

/// Why a script runs on bpftrace rather than natively.
public struct NativeUnsupported: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the generator does not support yet, in a few words (`ustack`, `system()`,
    /// `usdt probes`); shown as `backend: bpftrace (REASON)`.
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
