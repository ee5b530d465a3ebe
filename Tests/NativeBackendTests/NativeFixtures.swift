import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import NativeABI
import NativeBackend
import NativeRuntime
import XCTest

/// Shared fixtures: the running kernel, program sources from the repository, and resolving.
enum NativeFixtures {
    static let kernel = KernelInfo.shared()

    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    /// Parses and resolves `source`; nil with the reason when it does not resolve here.
    enum Resolution {
        case resolved(ResolvedProgram)
        case failed(String)
    }

    static func resolve(_ source: String, file: String = "test.bt") -> Resolution {
        let parsed = Parser.parse(source: source, file: file)
        guard let program = parsed.program, !parsed.diagnostics.contains(where: { $0.severity == .error }) else {
            return .failed("does not parse: " + parsed.diagnostics.map(\.message).joined(separator: "; "))
        }
        let resolved = Resolver(kernel: kernel).resolve(program)
        if let error = resolved.diagnostics.first(where: { $0.severity == .error }) {
            return .failed("does not resolve: \(error.message)")
        }
        return .resolved(resolved)
    }

    static func resolved(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> ResolvedProgram {
        switch resolve(source) {
        case let .resolved(r): return r
        case let .failed(reason): throw XCTSkip("\(reason) on this kernel")
        }
    }

    /// The shipped corpus programs (`corpus/examples`, or another corpus folder): (name, source).
    static func corpus(_ folder: String = "corpus/examples") -> [(String, String)] {
        let dir = repositoryRoot.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".bt") }.sorted().compactMap { name in
            guard let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) else { return nil }
            return (name, text)
        }
    }

    /// The Debian bpftrace package's tool scripts (`/usr/sbin/*.bt`): (name, source).
    static func installedTools() -> [(String, String)] {
        let dir = URL(fileURLWithPath: "/usr/sbin")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".bt") }.sorted().compactMap { name in
            guard let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) else { return nil }
            return (name, text)
        }
    }

    /// The reference programs of eval/prompts.jsonl: (id, source).
    static func evalReferences() -> [(String, String)] {
        let url = repositoryRoot.appendingPathComponent("eval/prompts.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? String, let program = object["reference_program"] as? String else { return nil }
            return (id, program)
        }
    }

    /// Starts `artifact` under NativeRuntime with a scratch pin root and output directory, runs
    /// `body` with the extension and the directory its stdout.log is in, then removes both.
    static func withExtension<T>(_ artifact: NativeArtifact, onExit: @escaping @Sendable (String) -> Void = { _ in },
                                 _ body: (NativeExtension, String) throws -> T) throws -> T {
        let tag = UUID().uuidString.prefix(8)
        let pinRoot = "/sys/fs/bpf/ken-gen-test-\(tag)"
        let output = NSTemporaryDirectory() + "ken-gen-out-\(tag)"
        let id = "gen\(tag)"
        defer {
            NativeExtension.removePins(id: id, pinRoot: pinRoot)
            rmdir(pinRoot)
            try? FileManager.default.removeItem(atPath: output)
        }
        let running = try NativeExtension.start(artifact, id: id, pinRoot: pinRoot, outputDirectory: output, onExit: onExit)
        return try body(running, output)
    }

    /// What the extension wrote to stdout.log in `directory`.
    static func log(_ directory: String) -> String {
        (try? String(contentsOfFile: directory + "/stdout.log", encoding: .utf8)) ?? ""
    }
}
