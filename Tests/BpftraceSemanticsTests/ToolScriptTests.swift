import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import XCTest

/// Resolves bpftrace's own tool scripts (/usr/sbin/*.bt) against this kernel. Every probe
/// that exists must resolve cleanly; kprobe-based probes on a kernel without kprobes must be
/// reported as unavailable — exactly once per attach point, and nothing else.
final class ToolScriptTests: XCTestCase {
    static let kernel = KernelInfo.shared()

    static func toolScripts() throws -> [String] {
        let dir = "/usr/sbin"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let scripts = names.filter { $0.hasSuffix(".bt") }.sorted().map { "\(dir)/\($0)" }
        if scripts.isEmpty { throw XCTSkip("no bpftrace tool scripts in /usr/sbin") }
        return scripts
    }

    func testToolScriptsResolve() throws {
        guard Self.kernel.tracefs != nil, Self.kernel.btf != nil else {
            throw XCTSkip("tracefs or BTF unavailable: \(Self.kernel.problems)")
        }
        let scripts = try Self.toolScripts()
        let kprobesMissing = Self.kernel.catalogue.unavailableReason(.kprobe) != nil
        var clean = 0
        var withKprobes = 0
        var totalBytes = 0
        let start = Date()
        var results: [CheckResult] = []
        for path in scripts {
            let result = Checker.check(path: path, kernel: Self.kernel)
            totalBytes += result.source?.utf8.count ?? 0
            results.append(result)
        }
        let elapsed = Date().timeIntervalSince(start)
        for result in results {
            let parseErrors = Parser.parse(source: result.source ?? "", file: result.file).diagnostics.filter { $0.severity == .error }
            XCTAssertEqual(parseErrors, [], "\(result.file) must parse")
            guard let resolved = result.resolved else { XCTFail("\(result.file) not resolved"); continue }
            let kprobePoints = resolved.attachPoints.filter { [.kprobe, .kretprobe].contains($0.attachPoint.kind) }
            let errors = result.diagnostics.filter { $0.severity == .error }
            if kprobesMissing, !kprobePoints.isEmpty {
                withKprobes += 1
                XCTAssertEqual(errors.count, kprobePoints.count, "\(result.file): one error per kprobe attach point, nothing else:\n\(Checker.renderText([result]))")
                for (error, point) in zip(errors, kprobePoints) {
                    XCTAssertEqual(error.range, point.attachPoint.range, result.file)
                    XCTAssertTrue(error.message.hasPrefix("cannot attach '\(point.attachPoint.text)': kprobes are not available on this kernel"), error.message)
                }
            } else {
                XCTAssertEqual(errors, [], "\(result.file):\n\(Checker.renderText([result]))")
                if errors.isEmpty { clean += 1 }
            }
            // Every expression node, at any depth, got its type slot filled.
            let counter = Counter()
            _ = TreeTransform(expression: { e in
                counter.total += 1
                if e.type == nil { counter.untyped.append(Printer.print(e)) }
                return e
            }).apply(resolved.program)
            XCTAssertGreaterThan(counter.total, 0)
            XCTAssertEqual(counter.untyped, [], result.file)
        }
        print(String(format: "tool scripts: %d files (%d bytes), %d clean, %d with unavailable kprobes; check (parse+resolve) %.1f ms total, %.2f ms/file",
                     scripts.count, totalBytes, clean, withKprobes, elapsed * 1000, elapsed * 1000 / Double(scripts.count)))
        XCTAssertGreaterThan(clean, 5)
    }

    func testOpensnoopFieldFacts() throws {
        guard Self.kernel.tracefs != nil else { throw XCTSkip("tracefs unavailable") }
        let path = "/usr/sbin/opensnoop.bt"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("opensnoop.bt not installed") }
        let result = Checker.check(path: path, kernel: Self.kernel)
        let resolved = try XCTUnwrap(result.resolved)
        XCTAssertFalse(result.hasErrors, Checker.renderText([result]))
        // `@filename[tid] = args->filename` in the sys_enter probe: a user char pointer.
        let filenameReads = resolved.kernelValues.values.filter {
            if case .tracepointField(_, "filename") = $0.origin { return true } else { return false }
        }
        XCTAssertFalse(filenameReads.isEmpty)
        for info in filenameReads {
            XCTAssertTrue(info.isUserPointer)
            XCTAssertEqual(info.cName, "const char *")
        }
        XCTAssertEqual(resolved.mapTypes["filename"], .pointer(to: .integer(bits: 8, signed: true)))
    }

    /// Bad input never crashes: resolve the error-recovered trees of every truncation of a few
    /// tool scripts (half-typed programs are what an LLM produces mid-repair).
    func testTruncatedScriptsNeverCrash() throws {
        let scripts = try Self.toolScripts().filter { ["tcplife.bt", "runqlen.bt", "opensnoop.bt", "biolatency.bt", "tcpdrop.bt"].contains(($0 as NSString).lastPathComponent) }
        let resolver = Resolver(kernel: Self.kernel)
        var resolvedCount = 0
        for path in scripts {
            let bytes = Array((try String(contentsOfFile: path, encoding: .utf8)).utf8)
            for cut in stride(from: 0, to: bytes.count, by: 11) {
                let text = String(decoding: bytes[0..<cut], as: UTF8.self)
                let parsed = Parser.parse(source: text, file: path)
                let resolved = resolver.resolve(parsed.partialProgram)
                XCTAssertEqual(resolved.program.probes.count, parsed.partialProgram.probes.count)
                resolvedCount += 1
            }
        }
        XCTAssertGreaterThan(resolvedCount, 100)
    }
}

/// Mutable tally for the tree walk above.
final class Counter {
    var total = 0
    var untyped: [String] = []
}
