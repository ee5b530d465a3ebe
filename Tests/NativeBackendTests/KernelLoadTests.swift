import BPF
import BpftraceSemantics
import Foundation
import KernelInfo
import NativeABI
import NativeBackend
import XCTest

/// Every corpus program (examples and the verifier's annotated set), eval reference program
/// and installed bpftrace tool that resolves on this kernel is generated,
/// compiled by clang and loaded through the real kernel verifier (nothing attached, nothing
/// run). Programs the generator does not support are counted with their reasons; the share
/// compiled natively must stay at 90% or more of those that resolve.
final class KernelLoadTests: XCTestCase {
    struct Outcome {
        var native: [String] = []
        var unsupported: [String: [String]] = [:]
        var failures: [String] = []
        /// Compiled, but this kernel refuses the program type to everyone (fentry/fexit: EPERM).
        var refusedByKernel: [String] = []
        var unresolved = 0
        /// Seconds spent generating and compiling (clang included), per native program.
        var compileSeconds: [Double] = []
    }

    func testCorpusAndEvalReferencesLoadThroughTheVerifier() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load BPF programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/clang") else { throw XCTSkip("needs /usr/bin/clang") }
        let programs = NativeFixtures.corpus().map { ("corpus/" + $0.0, $0.1) }
            + NativeFixtures.evalReferences().map { ("eval/" + $0.0, $0.1) }
            + NativeFixtures.installedTools().map { ("tools/" + $0.0, $0.1) }
            + NativeFixtures.corpus("corpus/annotated").map { ("annotated/" + $0.0, $0.1) }
        XCTAssertGreaterThan(programs.count, 100, "corpus and eval references are in the repository")
        var outcome = Outcome()
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel)
        for (name, source) in programs {
            guard case let .resolved(resolved) = NativeFixtures.resolve(source, file: name) else {
                outcome.unresolved += 1
                continue
            }
            do {
                let start = Date()
                let artifact = try compiler.compile(resolved)
                outcome.compileSeconds.append(Date().timeIntervalSince(start))
                let object = try BPFObject(elf: artifact.object, name: "ken_native_test")
                XCTAssertEqual(object.programs.map { $0.name }, artifact.plan.probes.map { $0.programName }, name)
                do {
                    try object.load()
                    outcome.native.append(name)
                } catch let error as BPFError where error.errno == EPERM
                            && artifact.plan.probes.contains(where: { Self.isTracing($0, object) }) {
                    outcome.refusedByKernel.append(name)
                } catch let error as BPFError {
                    let log = error.verifierLog.split(separator: "\n").suffix(12).joined(separator: "\n")
                    outcome.failures.append("\(name): \(error)\n\(log)\n\(error.libbpfLog.suffix(800))")
                }
            } catch let error as NativeCompileError {
                if case let .unsupported(u) = error {
                    outcome.unsupported[u.reason, default: []].append(name)
                } else {
                    outcome.failures.append("\(name): \(error)")
                }
            }
        }
        let resolvedCount = outcome.native.count + outcome.refusedByKernel.count + outcome.unsupported.values.map(\.count).reduce(0, +) + outcome.failures.count
        let reasons = outcome.unsupported.sorted { $0.value.count > $1.value.count }
            .map { "\($0.key) ×\($0.value.count) (\($0.value.joined(separator: ", ")))" }
        print("native coverage: \(outcome.native.count)/\(resolvedCount) programs that resolve here load natively; "
              + "\(outcome.refusedByKernel.count) compile but this kernel refuses fentry/fexit (EPERM: \(outcome.refusedByKernel.joined(separator: ", "))); "
              + "\(outcome.unresolved) do not resolve on this kernel; unsupported: \(reasons.joined(separator: "; "))")
        let times = outcome.compileSeconds.sorted()
        if !times.isEmpty {
            print(String(format: "native generate+clang: median %.0f ms, max %.0f ms over %d programs",
                         times[times.count / 2] * 1000, times.last! * 1000, times.count))
        }
        for failure in outcome.failures { XCTFail(failure) }
        XCTAssertGreaterThanOrEqual(Double(outcome.native.count + outcome.refusedByKernel.count), 0.9 * Double(resolvedCount),
                                    "at least 90% of what resolves is compiled natively")
    }

    /// Whether `probe` is an fentry/fexit program (this machine's kernel refuses those with EPERM).
    static func isTracing(_ probe: NativeProbe, _ object: BPFObject) -> Bool {
        object.programs.contains { $0.name == probe.programName && ($0.sectionName.hasPrefix("fentry/") || $0.sectionName.hasPrefix("fexit/")) }
    }
}
