import Foundation

/// Picks the line of bpftrace's output that says why a program was rejected.
///
/// bpftrace prints harmless lines before the real cause: `couldn't set RLIMIT_MEMLOCK` whenever
/// it cannot raise a limit it does not need on kernels that account BPF memory to cgroups,
/// `INFO: node count`, `Attaching N probes`, JSON events. Taking the first line that mentions an
/// error made the RLIMIT_MEMLOCK line the headline of 11 of 59 real rejections whose cause — a
/// compiler error such as `'uapi/linux/ptrace.h' file not found`, or the verifier's complaint —
/// came further down.
public enum BpftraceOutputSummary {
    /// Lines that never explain a failure.
    static func isNoise(_ line: String) -> Bool {
        OutputLine.isMemlockWarning(line) || line.hasPrefix("INFO:") || line.hasPrefix("Attaching ")
            || line.hasPrefix("{") || line.hasPrefix("Program ID:") || line.hasPrefix("The verifier log")
            || line.hasPrefix("processed ") || line.allSatisfy { $0 == "~" || $0 == "^" || $0 == " " }
    }

    /// The most telling line: a compiler error first (`file.h:2:10: fatal error: …`), then a
    /// bpftrace ERROR, then anything that says invalid, denied or failed, then the first line
    /// that is not noise; nil when the output says nothing.
    public static func headline(_ output: String) -> String? {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !isNoise($0) }
        let tiers: [(String) -> Bool] = [
            { $0.contains("fatal error:") || $0.contains(": error:") },
            { $0.contains("ERROR") },
            { $0.contains("invalid") || $0.contains("denied") || $0.contains("failed") || $0.contains("rror:") },
        ]
        for tier in tiers {
            if let line = lines.first(where: tier) { return line }
        }
        return lines.first
    }
}
