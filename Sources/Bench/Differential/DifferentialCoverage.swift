import Evaluation
import Foundation

/// The programs the differential suite runs beyond its own tiny ones: the shipped corpus, the
/// reference programs of eval/prompts.jsonl, and the bpftrace tool scripts Debian installs.
public enum DifferentialPrograms {
    /// One generic workload for programs with no trigger of their own, run by the unique-comm
    /// shell: files opened, read, written, renamed, chmod'ed and removed, directories made and
    /// removed, a few programs executed (each a fork and an exec), a short sleep, a sync.
    public static let genericTrigger = """
        read x </etc/hostname; cat /etc/hostname >/dev/null; ls / >/dev/null; uname -a >/dev/null; true; false
        d=$(mktemp -d); echo data >"$d/f"; chmod 600 "$d/f"; mkdir "$d/s"; rmdir "$d/s"; mv "$d/f" "$d/g"; sync "$d/g"; rm -rf "$d"
        cd /usr/share; cd /; sleep 0.1
        """

    /// How long a program stays attached after its trigger: long enough for its slowest
    /// interval probe to fire on both sides (its period plus 1.3 s, at most 11 s).
    static func waitFor(_ source: String) -> Duration {
        var longest = 0
        let pattern = try! NSRegularExpression(pattern: #"interval:(s|ms|us|hz):([0-9]+)"#)
        for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
            guard let unit = Range(match.range(at: 1), in: source), let value = Range(match.range(at: 2), in: source),
                  let number = Int(source[value]) else { continue }
            let ms = switch source[unit] { case "s": number * 1000; case "ms": number; case "hz": 1000 / max(number, 1); default: 1 }
            longest = max(longest, ms)
        }
        return .milliseconds(longest == 0 ? 800 : min(longest + 1300, 11_000))
    }

    /// Where a program comes from, for the coverage report.
    public enum Origin: String, Sendable, CaseIterable {
        case corpus, eval, tools = "Debian tools"
    }

    public struct Program: Sendable {
        public var origin: Origin
        public var testCase: DifferentialCase
        /// Why it is not run at all (it acts on other processes), or nil.
        public var skipReason: String?
    }

    /// Every `*.bt` of `directory` (the corpus), with the generic trigger. Examples marked
    /// `needs-unsafe: yes` are skipped: they signal or run commands on a shared machine.
    public static func corpus(directory: URL) -> [Program] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".bt") }.sorted()
        return files.compactMap { file in
            guard let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else { return nil }
            let unsafe = text.split(separator: "\n").contains { $0.hasPrefix("// needs-unsafe:") && $0.contains("yes") }
            return Program(origin: .corpus,
                           testCase: DifferentialCase(name: "corpus/" + file, source: text, trigger: genericTrigger,
                                                      wait: waitFor(text)),
                           skipReason: unsafe ? "needs --unsafe (signals or runs commands)" : nil)
        }
    }

    /// The reference program and behaviour check of every eval entry that has both.
    public static func eval(path: String) -> [(entry: EvalEntry, program: Program)] {
        guard let entries = try? EvalDataset.load(path: path) else { return [] }
        return entries.filter { !$0.referenceProgram.isEmpty && $0.hasBehaviourCheck }.map { entry in
            (entry, Program(origin: .eval,
                            testCase: DifferentialCase(name: "eval/" + entry.id, source: entry.referenceProgram,
                                                       trigger: entry.trigger, wait: waitFor(entry.referenceProgram),
                                                       unsafe: entry.referenceProgram.contains("signal("), plainShell: true),
                            skipReason: nil))
        }
    }

    /// The tool scripts Debian's bpftrace installs, with the generic trigger. Scripts using
    /// `system(` are skipped.
    public static func tools() -> [Program] {
        var programs: [Program] = []
        for directory in ["/usr/sbin", "/usr/share/bpftrace/tools"] {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".bt") }.sorted()
            for file in files where !programs.contains(where: { $0.testCase.name == "tools/" + file }) {
                guard let text = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else { continue }
                programs.append(Program(origin: .tools,
                                        testCase: DifferentialCase(name: "tools/" + file, source: text, trigger: genericTrigger,
                                                                   wait: waitFor(text)),
                                        skipReason: text.contains("system(") ? "runs commands (system())" : nil))
            }
        }
        return programs
    }
}

/// The coverage figure of issue 16: of the programs that resolve on this kernel, how many run
/// natively with output equal to bpftrace's.
public struct DifferentialCoverage: Sendable {
    public struct Entry: Sendable {
        public var origin: DifferentialPrograms.Origin
        public var name: String
        public var result: DifferentialResult?
        public var skipReason: String?

        public init(origin: DifferentialPrograms.Origin, name: String, result: DifferentialResult?, skipReason: String? = nil) {
            self.origin = origin
            self.name = name
            self.result = result
            self.skipReason = skipReason
        }
    }

    public var entries: [Entry] = []

    public init() {}

    /// Runs every program with `harness` (sequentially: the machine is small and the triggers
    /// are shared), calling `progress` after each.
    public static func run(_ programs: [DifferentialPrograms.Program], harness: DifferentialHarness,
                           progress: (DifferentialResult) -> Void = { _ in }) async -> DifferentialCoverage {
        var coverage = DifferentialCoverage()
        for program in programs {
            if let reason = program.skipReason {
                coverage.entries.append(Entry(origin: program.origin, name: program.testCase.name, result: nil, skipReason: reason))
                continue
            }
            var result = await harness.run(program.testCase)
            if let agreement = result.agreement, !agreement.isEqual {
                result.bpftraceSelfAgreement = await harness.bpftraceSelfAgreement(program.testCase)
            }
            progress(result)
            coverage.entries.append(Entry(origin: program.origin, name: program.testCase.name, result: result, skipReason: nil))
        }
        return coverage
    }

    /// Counts for one origin (nil: all).
    public struct Counts: Sendable, Equatable {
        public var programs = 0, skipped = 0, resolved = 0, ranNatively = 0, bpftraceRan = 0, compared = 0
        /// Compiled natively but neither side could load or attach it here (fentry refused by
        /// this kernel, a uprobe's library missing): not counted as a native failure.
        public var neitherRuns = 0
        public var byAgreement: [Agreement: Int] = [:]
        /// Outputs exactly equal (up to bpftrace's unspecified order).
        public var equal: Int { byAgreement.filter { $0.key.isEqual }.values.reduce(0, +) }
        /// Equal, or as close to bpftrace as bpftrace comes to itself on this machine.
        public var matching = 0
        /// Equal over resolved, in percent; nil when nothing resolved.
        public var percentEqual: Double? { resolved == 0 ? nil : Double(equal) * 100 / Double(resolved) }
        /// Matching over those that resolve and that bpftrace itself can run here (issue 16's
        /// figure: "resolve on this kernel" taken as "run on this kernel").
        public var percentMatching: Double? {
            let runnable = resolved - neitherRuns
            return runnable <= 0 ? nil : Double(matching) * 100 / Double(runnable)
        }
    }

    public func counts(_ origin: DifferentialPrograms.Origin?) -> Counts {
        var counts = Counts()
        for entry in entries where origin == nil || entry.origin == origin {
            counts.programs += 1
            guard let result = entry.result else { counts.skipped += 1; continue }
            if case .unresolved = result.native { continue }
            counts.resolved += 1
            if result.native == .ran { counts.ranNatively += 1 }
            if case .success = result.bpftrace { counts.bpftraceRan += 1 }
            if case .runtimeFailed = result.native, case .failure = result.bpftrace { counts.neitherRuns += 1 }
            if result.matchesBpftrace { counts.matching += 1 }
            if let agreement = result.agreement {
                counts.compared += 1
                counts.byAgreement[agreement, default: 0] += 1
            }
        }
        return counts
    }

    /// The report: one line per origin and for all, then every program that is not equal.
    public func render() -> String {
        func line(_ name: String, _ c: Counts) -> String {
            let levels = Agreement.allCases.map { "\(c.byAgreement[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
            let percent = c.percentEqual.map { String(format: "%.0f%%", $0) } ?? "-"
            let matching = c.percentMatching.map { String(format: "%.0f%%", $0) } ?? "-"
            return "\(name): \(c.programs) programs, \(c.skipped) skipped, \(c.resolved) resolve here, \(c.neitherRuns) run on neither side, "
                + "\(c.ranNatively) ran natively, \(c.compared) compared with bpftrace; equal \(c.equal)/\(c.resolved) = \(percent) (\(levels)); "
                + "equal or as close as bpftrace to itself \(c.matching)/\(c.resolved - c.neitherRuns) = \(matching)"
        }
        var lines = DifferentialPrograms.Origin.allCases.map { line($0.rawValue, counts($0)) }
        lines.append(line("all", counts(nil)))
        for entry in entries {
            guard let result = entry.result else {
                lines.append("  \(entry.name): skipped, \(entry.skipReason ?? "")")
                continue
            }
            if case .unresolved = result.native { continue }
            if result.agreement?.isEqual == true { continue }
            if case .runtimeFailed = result.native, case .failure = result.bpftrace {
                lines.append("  \(result.name): runs on neither side here (native: \(result.native.reason.prefix(160)))")
                continue
            }
            lines.append("  " + result.summary)
            if result.agreement != nil { lines.append(result.difference) }
        }
        return lines.joined(separator: "\n")
    }
}
