import BPF
import Foundation
import Glibc
import NativeABI

/// The output side of one running native extension: reads its ring buffer (woken by the shared
/// `RingBufferReactor`), turns each record into bpftrace's JSON line, carries out the events
/// bpftrace handles in user space (`print`, `clear`, `zero`, `time`, `exit`), reports lost
/// events, and stops the extension (detach, END, final map printing, pins removed).
///
/// Every step runs under one lock, so the reactor's drains and a stop never interleave.
final class ExtensionRuntime: RingBufferClient, @unchecked Sendable {
    enum State {
        /// Probes attached; records are printed.
        case running
        /// `exit()` was read: later records are dropped (bpftrace ignores them too) until END.
        case exiting
        /// Probes detached, END running or ran: records are printed, `exit()` ignored.
        case ending
        /// Pins removed, fds closed.
        case stopped
        /// This process let go of the extension (its pins remain for `adopt`).
        case released
    }

    let id: String
    let plan: NativePlan
    let layout: PinLayout
    private let lock = NSLock()
    private var state = State.running
    private var ringBuffer: BPFRingBuffer?
    private var maps: [String: BPFMap]
    private let lostMap: BPFMap?
    /// The plan's stop flag (nil for older plans): set at stop so probes do nothing after END.
    private let stopFlag: BPFMap?
    private var endPrograms: [BPFProgramFD]
    private let output: OutputLog
    private let lostFile: String
    private var lostReported: UInt64
    private var token: UInt64?
    private let onExit: @Sendable (String) -> Void
    /// Sees every line written, after the lock is released (so it may call back in).
    private let onOutput: (@Sendable ([String]) -> Void)?
    /// Lines written under the lock and not yet handed to `onOutput`.
    private var undelivered: [String] = []
    private let formats: [Int: PrintfFormat]
    private let symbols = Symbolizer.shared

    init(id: String, plan: NativePlan, layout: PinLayout, ringBuffer: BPFRingBuffer, maps: [String: BPFMap],
         lostMap: BPFMap?, stopFlag: BPFMap? = nil, endPrograms: [BPFProgramFD], outputDirectory: String, logLimitBytes: Int,
         adopting: Bool, onExit: @escaping @Sendable (String) -> Void,
         onOutput: (@Sendable ([String]) -> Void)? = nil) throws(NativeRuntimeError) {
        self.onOutput = onOutput
        self.id = id
        self.plan = plan
        self.layout = layout
        self.ringBuffer = ringBuffer
        self.maps = maps
        self.lostMap = lostMap
        self.stopFlag = stopFlag
        self.endPrograms = endPrograms
        self.onExit = onExit
        output = try OutputLog(directory: outputDirectory, limitBytes: logLimitBytes)
        lostFile = outputDirectory + "/native-lost-reported"
        if adopting, let text = try? String(contentsOfFile: lostFile, encoding: .utf8),
           let count = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            lostReported = count
        } else {
            lostReported = 0
            unlink(lostFile)
        }
        var formats: [Int: PrintfFormat] = [:]
        for (index, event) in plan.events.enumerated() {
            if case let .printf(format, _) = event { formats[index] = PrintfFormat(format) }
        }
        self.formats = formats
    }

    /// Starts reading: the reactor wakes `drainFromReactor` from now on. Also drains what
    /// waits already (records written while no agent ran).
    func activate() throws(NativeRuntimeError) {
        guard let ringBuffer else { return }
        token = try RingBufferReactor.shared.register(self, pollFD: ringBuffer.pollFD)
        drainFromReactor()
    }

    func drainFromReactor() {
        let exitNow: Bool = lock.withLock {
            let before = state
            drainLocked()
            guard before == .running, state == .exiting else { return false }
            // exit() in BEGIN: wait until start() has returned the extension to its caller.
            if !started { exitPending = true; return false }
            return true
        }
        deliver()
        if exitNow { stopForExit() }
    }

    /// Writes lines to stdout.log and keeps them for `onOutput`. Called under the lock.
    private func emit(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        output.write(lines)
        if onOutput != nil { undelivered += lines }
    }

    /// Hands the written lines to `onOutput`, outside the lock.
    private func deliver() {
        guard let onOutput else { return }
        let lines: [String] = lock.withLock {
            defer { undelivered = [] }
            return undelivered
        }
        if !lines.isEmpty { onOutput(lines) }
    }

    /// True once `start`/`adopt` finished: an `exit()` read earlier (in BEGIN) waits for it, so
    /// a failed start never calls `onExit` and a good one calls it after it is complete.
    private var started = false
    private var exitPending = false

    func markStarted() {
        let exitNow: Bool = lock.withLock {
            started = true
            return exitPending
        }
        if exitNow { stopForExit() }
    }

    private func stopForExit() {
        DispatchQueue.global().async { [self] in
            if (try? finish()) ?? true { onExit(id) }
        }
    }

    /// Detaches (waiting until no probe runs), drains, runs END, drains (END's events, `clear`
    /// and `delete` included, take effect here), prints every map, removes the pins. Returns false if
    /// the extension was already stopped (or released). Throws, after stopping, if END failed.
    @discardableResult
    func finish() throws(NativeRuntimeError) -> Bool {
        var endFailure: String?
        let finished: Bool = lock.withLock {
            guard state == .running || state == .exiting else { return false }
            // No probe may change a map once END runs: a probe that ran after END's clear()
            // would leave entries in the maps printed below. Removing the link pins detaches
            // only after an RCU grace period (8-20 ms here), so the stop flag turns the probes
            // off at once; objects without one wait for the kernel to let the links go.
            if !raiseStopFlag() { layout.detachLinks() } else { layout.removeLinks() }
            drainLocked()
            state = .ending
            for program in endPrograms {
                do { try program.testRun() } catch { endFailure = "\(error)" }
            }
            drainLocked()
            var lines = ["", ""]  // bpftrace 0.17 prints two empty lines before the exit maps
            for spec in plan.maps.sorted(by: { $0.displayName < $1.displayName }) {
                guard let map = maps[spec.name] else { continue }
                if let line = try? MapPrinter(spec: spec, map: map, symbols: symbols).line() { lines.append(line) }
            }
            if let lost = lostLineLocked() { lines.append(lost) }
            emit(lines)
            closeLocked(to: .stopped)
            layout.removeAll()
            unlink(lostFile)
            return true
        }
        deliver()
        if let endFailure { throw .other("stopped, but END failed: \(endFailure)") }
        return finished
    }

    /// Sets the stop flag; false when the plan has none or the write failed.
    private func raiseStopFlag() -> Bool {
        guard let stopFlag else { return false }
        var one = [UInt8](repeating: 0, count: stopFlag.valueSize)
        one[0] = 1
        return (try? stopFlag.update([UInt8](repeating: 0, count: stopFlag.keySize), one)) != nil
    }

    /// Stops reading and closes this process's fds; the pins (and so the extension) remain.
    /// An extension whose `exit()` was read is stopping already: that goes on.
    func release() {
        lock.withLock {
            guard state == .running else { return }
            closeLocked(to: .released)
        }
    }

    /// A start that failed: stop reading whatever the state (the caller removes the pins).
    func abandon() {
        lock.withLock {
            guard state != .stopped, state != .released else { return }
            exitPending = false
            closeLocked(to: .released)
        }
    }

    private func closeLocked(to newState: State) {
        if let token, let ringBuffer { RingBufferReactor.shared.unregister(token: token, pollFD: ringBuffer.pollFD) }
        token = nil
        ringBuffer = nil
        maps = [:]
        endPrograms = []
        state = newState
    }

    var isRunning: Bool { lock.withLock { state == .running } }


    // MARK: Records

    private func drainLocked() {
        guard let ringBuffer else { return }
        var lines: [String] = []
        _ = try? ringBuffer.consume { record in
            if state == .exiting { return }
            handle(record, into: &lines)
        }
        if let lost = lostLineLocked() { lines.append(lost) }
        emit(lines)
    }

    private func handle(_ record: UnsafeRawBufferPointer, into lines: inout [String]) {
        let reader = ByteReader(bytes: record)
        let index = reader.u64(0)
        guard index < UInt64(plan.events.count) else { return }
        switch plan.events[Int(index)] {
        case let .printf(_, arguments):
            let values = arguments.map { reader.value($0.type, at: $0.offset, symbols: symbols) }
            let text = (formats[Int(index)] ?? PrintfFormat("")).format(values)
            lines.append(JSONText.line(type: "printf", data: JSONText.quote(text)))
        case let .printMap(name, top, divisor):
            if let printer = printer(name), let line = try? printer.line(top: top, divisor: divisor) { lines.append(line) }
        case let .printValue(field):
            lines.append(JSONText.line(type: "value", data: reader.value(field.type, at: field.offset, symbols: symbols).json))
        case let .clear(name):
            try? printer(name)?.clear()
        case let .zero(name):
            try? printer(name)?.zero()
        case let .time(format):
            lines.append(JSONText.line(type: "time", data: JSONText.quote(Self.localTime(format ?? "%H:%M:%S\n"))))
        case .exit:
            if state == .running { state = .exiting }
        case let .join(field):
            lines.append(JSONText.line(type: "join", data: JSONText.quote(reader.value(field.type, at: field.offset, symbols: symbols).keyText)))
        }
    }

    private func printer(_ name: String) -> MapPrinter? {
        guard let spec = plan.map(named: name), let map = maps[name] else { return nil }
        return MapPrinter(spec: spec, map: map, symbols: symbols)
    }

    /// `{"type": "lost_events", "data": {"events": N}}` for records lost since the last report.
    private func lostLineLocked() -> String? {
        guard let lostMap, let slots = try? lostMap.lookupPerCPU([UInt8](repeating: 0, count: lostMap.keySize)) else { return nil }
        let total = slots.map { slot in slot.withUnsafeBytes { ByteReader(bytes: $0).u64(0) } }.reduce(0, &+)
        guard total > lostReported else { return nil }
        let delta = total - lostReported
        lostReported = total
        try? String(total).write(toFile: lostFile, atomically: true, encoding: .utf8)
        return JSONText.line(type: "lost_events", data: "{\"events\": \(delta)}")
    }

    /// strftime in local time, as bpftrace's `time()`.
    static func localTime(_ format: String) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 512)
        let count = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
