import Foundation
import NativeABI
import NativeBackend
import NativeRuntime
import XCTest

/// The behaviour checks of eval/prompts.jsonl, run natively: each reference program is
/// compiled, started under NativeRuntime (no bpftrace), the prompt's trigger is run, and the
/// printed text must match the prompt's `expect` pattern, as ken-eval checks bpftrace's.
final class EvalBehaviourTests: XCTestCase {
    struct Case {
        var id: String
        var program: String
        var trigger: String
        var expect: String
    }

    static func cases() -> [Case] {
        let url = NativeFixtures.repositoryRoot.appendingPathComponent("eval/prompts.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = o["id"] as? String, let program = o["reference_program"] as? String,
                  let trigger = o["trigger"] as? String, let expect = o["expect"] as? String else { return nil }
            return Case(id: id, program: program, trigger: trigger, expect: expect)
        }
    }

    func testEvalReferenceProgramsBehaveAsExpectedNatively() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to run BPF programs") }
        guard FileManager.default.fileExists(atPath: "/sys/fs/bpf") else { throw XCTSkip("bpffs is not mounted") }
        let cases = Self.cases()
        XCTAssertGreaterThan(cases.count, 40)
        var passed: [String] = [], failed: [String] = [], notNative: [String] = []
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel)
        for c in cases {
            guard case let .resolved(resolved) = NativeFixtures.resolve(c.program), let artifact = try? compiler.compile(resolved) else {
                notNative.append(c.id)
                continue
            }
            let printed = try run(artifact, trigger: c.trigger, until: c.expect)
            if printed.range(of: c.expect, options: .regularExpression) != nil {
                passed.append(c.id)
            } else {
                failed.append("\(c.id): expected /\(c.expect)/ in \(printed.prefix(300).debugDescription)")
            }
        }
        print("native eval behaviour: \(passed.count)/\(passed.count + failed.count) reference programs print what their prompt expects; "
              + "not native here: \(notNative.joined(separator: ", "))")
        for failure in failed { print("native eval behaviour failed: \(failure)") }
        XCTAssertGreaterThanOrEqual(Double(passed.count), 0.9 * Double(passed.count + failed.count), failed.joined(separator: "\n"))
    }

    /// Starts `artifact`, runs `trigger` in a shell, waits (at most 3 s) for `pattern` in the
    /// printed text, stops, and returns the text printf printed.
    func run(_ artifact: NativeArtifact, trigger: String, until pattern: String) throws -> String {
        try NativeFixtures.withExtension(artifact) { running, output in
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", trigger]
            shell.standardOutput = FileHandle.nullDevice
            shell.standardError = FileHandle.nullDevice
            try shell.run()
            shell.waitUntilExit()
            let deadline = Date().addingTimeInterval(3)
            while Self.printfText(output).range(of: pattern, options: .regularExpression) == nil, Date() < deadline {
                usleep(50_000)
            }
            if running.isRunning { try running.stop() }
            return Self.printfText(output)
        }
    }

    /// The `printf` text of the JSON lines in `directory/stdout.log`.
    static func printfText(_ directory: String) -> String {
        NativeFixtures.log(directory).split(separator: "\n").compactMap { line -> String? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["type"] as? String == "printf" else { return nil }
            return o["data"] as? String
        }.joined()
    }
}
