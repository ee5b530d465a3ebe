import CBPF
import Foundation

/// CPUs and timers for bpftrace's `interval:` and `profile:` probes.
public enum PerfEvent {
    /// The online CPUs (`/sys/devices/system/cpu/online`, e.g. "0-3,6"); `[0]` if unreadable.
    public static func onlineCPUs() -> [Int32] {
        guard let text = try? String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8) else { return [0] }
        var cpus: [Int32] = []
        for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int32($0) }
            if bounds.count == 1 { cpus.append(bounds[0]) }
            if bounds.count == 2, bounds[0] <= bounds[1] { cpus += Array(bounds[0]...bounds[1]) }
        }
        return cpus.isEmpty ? [0] : cpus
    }
}

extension BPFObject {
    /// Opens a software cpu-clock perf event on `cpu` overflowing every `periodNanoseconds` and
    /// attaches the program to it (`bpf_program__attach_perf_event`). Once the link is pinned,
    /// let go of it with `releaseKeepingPin()`: the kernel link keeps the event open.
    public func attach(programNamed programName: String, cpu: Int32, periodNanoseconds: UInt64) throws -> BPFLink {
        let program = try findProgramHandle(programName)
        let eventFD = ken_perf_event_open_cpu_clock(cpu, periodNanoseconds)
        guard eventFD >= 0 else {
            throw BPFError(.perfEvent, errno: currentErrno(), subject: "cpu-clock on CPU \(cpu) for \(programName)")
        }
        return try LibbpfLog.shared.capture { messages in
            Glibc.errno = 0
            guard let link = bpf_program__attach_perf_event(program, eventFD) else {
                let code = currentErrno()
                close(eventFD)
                throw BPFError(.attach, errno: code, subject: "program \(programName) on CPU \(cpu)",
                               libbpfLog: messages())
            }
            return BPFLink(handle: link, programName: programName, ownedPerfEventFD: eventFD)
        }
    }
}
