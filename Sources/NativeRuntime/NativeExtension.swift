import BPF
import Foundation
import NativeABI

/// Why the runtime could not load, attach, adopt or stop a native extension.
public enum NativeRuntimeError: Error, Sendable, CustomStringConvertible {
    /// The kernel verifier rejected a program: the log intact.
    case rejected(program: String, verifierLog: String, libbpfLog: String)
    /// Attaching a program (or opening its perf event) failed.
    case attachFailed(program: String, String)
    /// Pins are missing or not what the plan says (after a reboot: load again).
    case notPinned(String)
    case other(String)

    public var description: String {
        switch self {
        case let .rejected(program, log, libbpf): return "the kernel verifier rejected \(program): \(log.isEmpty ? libbpf : log)"
        case let .attachFailed(program, why): return "attaching \(program) failed: \(why)"
        case let .notPinned(why): return "not pinned: \(why)"
        case let .other(why): return why
        }
    }
}

/// A native extension in the kernel: its programs attached and pinned under
/// `<pinRoot>/<id>/` (see `PinLayout`: `links/`, `maps/`, `progs/`), its maps pinned beside
/// them, and the output runtime reading its ring buffer into `<outputDirectory>/stdout.log` as
/// bpftrace's `-f json` lines.
///
/// The object reads output for as long as it lives: dropping it without `stop()` stops the
/// reading (the pins keep the programs attached and their records wait in the ring buffer) —
/// what happens when the agent exits, and what `adopt` resumes.
public final class NativeExtension: Sendable {
    public let id: String
    /// The kernel ids of its programs (attached probes and END) and links, for list/show.
    public let programIDs: [UInt32]
    public let linkIDs: [UInt32]
    let runtime: ExtensionRuntime

    init(id: String, runtime: ExtensionRuntime, programIDs: [UInt32], linkIDs: [UInt32]) {
        self.id = id
        self.runtime = runtime
        self.programIDs = programIDs
        self.linkIDs = linkIDs
    }

    deinit { runtime.release() }

    /// The default bound of `stdout.log` (as bpftrace children's logs).
    public static let defaultLogLimitBytes = 1 << 20

    /// Loads every program through the kernel verifier and unloads it again: nothing attached,
    /// nothing pinned, no BEGIN run. Returns the programs as the kernel saw them while loaded.
    public static func verifyOnly(_ artifact: NativeArtifact) throws(NativeRuntimeError) -> [KernelProgramInfo] {
        let object = try load(artifact, name: "ken_verify")
        var infos: [KernelProgramInfo] = []
        for program in object.programs where program.autoload {
            if let info = try? object.programInfo(named: program.name) { infos.append(info) }
        }
        return infos
        // `object` goes here: its programs and maps leave the kernel.
    }

    /// Loads, pins, attaches, runs BEGIN and starts reading output. All or nothing: a failed
    /// start leaves no pin.
    ///
    /// `onOutput`, if given, receives every line as it is appended to `stdout.log` (the JSON
    /// lines `OutputLine.decode` reads), on the reader thread; it should not block.
    ///
    /// `onExit` is called once, on another thread, when the program calls `exit()`: after END
    /// ran, the maps were printed and the pins were removed; for an `exit()` in BEGIN not before
    /// `start` finished; not at all if `stop()` got there first.
    public static func start(_ artifact: NativeArtifact, id: String, pinRoot: String, outputDirectory: String,
                             logLimitBytes: Int = defaultLogLimitBytes,
                             onOutput: (@Sendable ([String]) -> Void)? = nil,
                             onExit: @escaping @Sendable (String) -> Void) throws(NativeRuntimeError) -> NativeExtension {
        let plan = artifact.plan
        let layout = try PinLayout(pinRoot: pinRoot, id: id)
        if !PinLayout.names(in: layout.directory).isEmpty {
            throw .other("\(layout.directory) already holds pins: stop or adopt that extension first")
        }
        let object = try load(artifact, name: "ken")
        try layout.create(pinRoot: pinRoot)
        var runtime: ExtensionRuntime?
        do {
            var maps: [String: BPFMap] = [:]
            for spec in plan.maps {
                maps[spec.name] = try pinnedMap(object, spec.bpfName, layout)
            }
            let events = try pinnedMap(object, plan.eventsMapName, layout)
            let lost = try pinnedMap(object, plan.lostMapName, layout)
            var stopFlag: BPFMap?
            if let name = plan.stopFlagMapName { stopFlag = try pinnedMap(object, name, layout) }
            var programIDs: [UInt32] = []
            var linkIDs: [UInt32] = []
            var endPrograms: [BPFProgramFD] = []
            var beginPrograms: [String] = []
            for probe in plan.probes {
                let name = probe.programName
                switch probe.attach {
                case .section:
                    let info = try attach(name, pinAt: layout.link(name), keepPerfEvent: false) { try object.attach(programNamed: name) }
                    linkIDs.append(info.id); programIDs.append(info.programID)
                case let .interval(nanoseconds):
                    let cpu = PerfEvent.onlineCPUs()[0]
                    let info = try attach(name, pinAt: layout.link(name), keepPerfEvent: true) {
                        try object.attach(programNamed: name, cpu: cpu, periodNanoseconds: nanoseconds)
                    }
                    linkIDs.append(info.id); programIDs.append(info.programID)
                case let .profile(nanoseconds):
                    for cpu in PerfEvent.onlineCPUs() {
                        let info = try attach(name, pinAt: layout.link("\(name)-cpu\(cpu)"), keepPerfEvent: true) {
                            try object.attach(programNamed: name, cpu: cpu, periodNanoseconds: nanoseconds)
                        }
                        linkIDs.append(info.id); programIDs.append(info.programID)
                    }
                case .begin:
                    beginPrograms.append(name)
                case .end:
                    let program = try bpf("END program \(name)") { try object.program(named: name) }
                    try bpf("pinning \(name)") { try program.pin(at: layout.program(name)) }
                    endPrograms.append(program)
                    programIDs.append(program.info.id)
                }
            }
            let ringBuffer = try bpf("the ring buffer") { try BPFRingBuffer(map: events) }
            let created = try ExtensionRuntime(
                id: id, plan: plan, layout: layout, ringBuffer: ringBuffer, maps: maps, lostMap: lost,
                stopFlag: stopFlag, endPrograms: endPrograms, outputDirectory: outputDirectory, logLimitBytes: logLimitBytes,
                adopting: false, onExit: onExit, onOutput: onOutput)
            runtime = created
            try created.activate()
            for name in beginPrograms {
                let program = try bpf("BEGIN program \(name)") { try object.program(named: name) }
                _ = try bpf("running BEGIN") { try program.testRun() }
            }
            var seen = Set<UInt32>()
            let started = NativeExtension(id: id, runtime: created, programIDs: programIDs.filter { seen.insert($0).inserted },
                                          linkIDs: linkIDs)
            created.markStarted()
            return started
        } catch {
            runtime?.abandon()
            layout.removeAll()
            throw error
        }
    }

    /// Takes over an extension a previous agent started, from its pins and plan: reading
    /// resumes where the previous reader stopped (records written meanwhile wait in the ring
    /// buffer, up to its size; what did not fit is reported as lost events).
    public static func adopt(plan: NativePlan, id: String, pinRoot: String, outputDirectory: String,
                             logLimitBytes: Int = defaultLogLimitBytes,
                             onOutput: (@Sendable ([String]) -> Void)? = nil,
                             onExit: @escaping @Sendable (String) -> Void) throws(NativeRuntimeError) -> NativeExtension {
        try validate(plan)
        let layout = try PinLayout(pinRoot: pinRoot, id: id)
        func open<T>(_ what: String, _ body: () throws -> T) throws(NativeRuntimeError) -> T {
            do { return try body() } catch { throw .notPinned("\(what): \(error)") }
        }
        var maps: [String: BPFMap] = [:]
        for spec in plan.maps {
            maps[spec.name] = try open("map \(spec.bpfName)") { try BPFMap.open(pinned: layout.map(spec.bpfName)) }
        }
        let events = try open("ring buffer") { try BPFMap.open(pinned: layout.map(plan.eventsMapName)) }
        let lost = try open("lost counter") { try BPFMap.open(pinned: layout.map(plan.lostMapName)) }
        var stopFlag: BPFMap?
        if let name = plan.stopFlagMapName { stopFlag = try open("stop flag") { try BPFMap.open(pinned: layout.map(name)) } }
        var endPrograms: [BPFProgramFD] = []
        var programIDs: [UInt32] = []
        var linkIDs: [UInt32] = []
        for probe in plan.probes where probe.attach == .end {
            let program = try open("END program") { try BPFProgramFD.open(pinned: layout.program(probe.programName)) }
            endPrograms.append(program)
            programIDs.append(program.info.id)
        }
        for name in PinLayout.names(in: layout.links) {
            let link = try open("link \(name)") { try PinnedLink.open(at: layout.link(name)) }
            linkIDs.append(link.info.id)
            if !programIDs.contains(link.info.programID) { programIDs.append(link.info.programID) }
        }
        let attachedProbes = plan.probes.filter { ![.begin, .end].contains($0.attach) }
        if !attachedProbes.isEmpty && linkIDs.isEmpty { throw .notPinned("no link pins in \(layout.links)") }
        let ringBuffer = try open("ring buffer") { try BPFRingBuffer(map: events) }
        let runtime = try ExtensionRuntime(
            id: id, plan: plan, layout: layout, ringBuffer: ringBuffer, maps: maps, lostMap: lost,
            stopFlag: stopFlag, endPrograms: endPrograms, outputDirectory: outputDirectory, logLimitBytes: logLimitBytes,
            adopting: true, onExit: onExit, onOutput: onOutput)
        try runtime.activate()
        let adopted = NativeExtension(id: id, runtime: runtime, programIDs: programIDs, linkIDs: linkIDs)
        runtime.markStarted()
        return adopted
    }

    /// Stops: detaches the probes, runs END, prints every map, removes the pins. Stopping an
    /// extension that already stopped (its `exit()` ran) does nothing.
    public func stop() throws(NativeRuntimeError) {
        try runtime.finish()
    }

    /// Locked kernel memory the extension holds: its programs and every map they use (ring
    /// buffer and global data included), as bpftool reports "memlock". 0 once stopped.
    public var kernelMemoryBytes: UInt64 {
        guard runtime.isRunning else { return 0 }
        let programs = programIDs.compactMap { try? KernelPrograms.info(id: $0) }
        let mapIDs = Set(programs.flatMap(\.mapIDs))
        let maps = mapIDs.compactMap { try? BPFMap.open(id: $0).memlockBytes }.reduce(0, +)
        return programs.compactMap(\.bytesMemlock).reduce(0, +) + maps
    }

    /// False once the extension stopped (by `stop()` or its own `exit()`).
    public var isRunning: Bool { runtime.isRunning }

    /// True if the extension has pins (a previous agent started it and nothing stopped it since;
    /// after a reboot bpffs is empty): adopt it, or start it again from its artifact.
    public static func isPinned(id: String, pinRoot: String) -> Bool {
        guard let layout = try? PinLayout(pinRoot: pinRoot, id: id) else { return false }
        return !PinLayout.names(in: layout.maps).isEmpty
    }

    /// Removes what an extension left pinned when it cannot be adopted (no END, no output).
    public static func removePins(id: String, pinRoot: String) {
        (try? PinLayout(pinRoot: pinRoot, id: id))?.removeAll()
    }

    // MARK: Steps

    private static func load(_ artifact: NativeArtifact, name: String) throws(NativeRuntimeError) -> BPFObject {
        let plan = artifact.plan
        guard plan.version == NativePlan.currentVersion else {
            throw .other("the plan is version \(plan.version), this agent reads version \(NativePlan.currentVersion): regenerate")
        }
        try validate(plan)
        let object: BPFObject
        do { object = try BPFObject(elf: artifact.object, name: name) } catch {
            throw .other("not a loadable BPF object: \(error)")
        }
        let names = Set(object.programs.map(\.name))
        if let missing = plan.probes.first(where: { !names.contains($0.programName) }) {
            throw .other("the object has no program \(missing.programName) the plan names")
        }
        do {
            try object.setMaxEntries(mapNamed: plan.eventsMapName, UInt32(plan.ringBufferBytes))
            try object.load()
        } catch let error as BPFError {
            throw .rejected(program: rejectedProgram(error.libbpfLog) ?? "the object",
                            verifierLog: error.verifierLog, libbpfLog: error.libbpfLog)
        } catch {
            throw .other("\(error)")
        }
        return object
    }

    /// Refuses a plan the runtime could not follow safely (a registry entry damaged or written
    /// by a buggy generator): sizes, histogram bounds, names.
    static func validate(_ plan: NativePlan) throws(NativeRuntimeError) {
        let ring = plan.ringBufferBytes
        guard ring >= 4096, ring <= 1 << 30, ring & (ring - 1) == 0 else {
            throw .other("invalid plan: ring buffer of \(ring) bytes (a power of two from 4 KiB to 1 GiB)")
        }
        for map in plan.maps {
            guard map.keySize > 0, map.valueSize > 0, !map.bpfName.isEmpty, !map.bpfName.contains("/"), !map.bpfName.contains(".") else {
                throw .other("invalid plan: map \(map.displayName) (\(map.bpfName), key \(map.keySize), value \(map.valueSize) bytes)")
            }
            if case let .linearHist(low, high, step) = map.value {
                guard step > 0, high > low, (high - low) / step < 100_000 else {
                    throw .other("invalid plan: lhist bounds of \(map.displayName): min \(low), max \(high), step \(step)")
                }
            }
        }
        for name in [plan.eventsMapName, plan.lostMapName] + (plan.stopFlagMapName.map { [$0] } ?? [])
        where name.isEmpty || name.contains("/") || name.contains(".") {
            throw .other("invalid plan: map name \"\(name)\"")
        }
        for probe in plan.probes {
            guard !probe.programName.isEmpty, !probe.programName.contains("/"), !probe.programName.contains(".") else {
                throw .other("invalid plan: program name \"\(probe.programName)\"")
            }
            switch probe.attach {
            case let .interval(nanoseconds), let .profile(nanoseconds):
                guard nanoseconds > 0 else { throw .other("invalid plan: \(probe.attachPoint) fires every 0 ns") }
            default: break
            }
        }
    }

    /// libbpf names the failing program as `prog 'NAME': …`.
    static func rejectedProgram(_ log: String) -> String? {
        guard let start = log.range(of: "prog '") else { return nil }
        let rest = log[start.upperBound...]
        guard let end = rest.firstIndex(of: "'") else { return nil }
        return String(rest[..<end])
    }

    private static func pinnedMap(_ object: BPFObject, _ name: String, _ layout: PinLayout) throws(NativeRuntimeError) -> BPFMap {
        let map = try bpf("map \(name)") { try object.map(named: name) }
        try bpf("pinning map \(name)") { try map.pin(at: layout.map(name)) }
        return map
    }

    /// Attaches, pins the link, lets go of this process's reference; returns the link's ids.
    private static func attach(_ name: String, pinAt path: String, keepPerfEvent: Bool,
                               _ body: () throws -> BPFLink) throws(NativeRuntimeError) -> LinkInfo {
        let link: BPFLink
        do { link = try body() } catch { throw .attachFailed(program: name, "\(error)") }
        do {
            try link.pin(at: path)
            let info = try link.info()
            if keepPerfEvent { link.releaseKeepingPin() } else { link.destroy() }
            return info
        } catch {
            throw .attachFailed(program: name, "\(error)")
        }
    }

    private static func bpf<T>(_ what: String, _ body: () throws -> T) throws(NativeRuntimeError) -> T {
        do { return try body() } catch { throw .other("\(what): \(error)") }
    }
}
