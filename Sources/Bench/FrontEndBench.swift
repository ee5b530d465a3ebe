import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo

/// Front end: parse + resolve throughput over the bpftrace tool scripts the system installs.
public enum FrontEndBench {
    public static func run(kernel: KernelInfo, rounds: Int) -> [Row] {
        let directory = "/usr/sbin"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".bt") }.sorted()
        let scripts = files.compactMap { name -> (String, String)? in
            guard let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else { return nil }
            return (name, text)
        }
        guard !scripts.isEmpty else {
            return [Row(section: "front end", metric: "parse+resolve", samples: 0, unit: "ms",
                        note: "no *.bt tool scripts in /usr/sbin (install bpftrace)")]
        }
        var parse = Samples()
        var resolve = Samples()
        let bytes = scripts.reduce(0) { $0 + $1.1.utf8.count }
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<rounds {
            for (name, text) in scripts {
                var program: Program?
                let t0 = clock.now
                program = Parser.parse(source: text, file: name).program
                let t1 = clock.now
                if let program { _ = Resolver(kernel: kernel).resolve(program) }
                let t2 = clock.now
                parse.add(milliseconds(t1 - t0))
                resolve.add(milliseconds(t2 - t1))
            }
        }
        let seconds = milliseconds(clock.now - start) / 1000
        let perSecond = Double(scripts.count * rounds) / seconds
        return [
            kernelLoadRow(),
            parse.row("front end", "parse, per tool script"),
            resolve.row("front end", "resolve, per tool script"),
            Row(section: "front end", metric: "parse+resolve throughput", samples: scripts.count * rounds,
                value: perSecond, unit: "scripts/s",
                note: "\(scripts.count) tool scripts, \(bytes / 1024) KiB, \(rounds) rounds; \(String(format: "%.0f", Double(bytes * rounds) / seconds / 1024)) KiB/s"),
        ]
    }

    static func kernelLoadRow() -> Row {
        let clock = ContinuousClock()
        let start = clock.now
        let info = KernelInfo.load()
        let elapsed = milliseconds(clock.now - start)
        return Row(section: "front end", metric: "kernel facts load (tracefs + BTF)", samples: 1, value: elapsed,
                   unit: "ms", note: "\(info.tracefs?.allTracepoints.count ?? 0) tracepoints, \(info.timings)")
    }
}
