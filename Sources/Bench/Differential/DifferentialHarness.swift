import BpftraceSemantics
import BpftraceSyntax
import Evaluation
import Foundation
import KernelInfo
import KernelLoader
import NativeABI
import NativeBackend
import NativeRuntime

/// One program for the differential suite: its source, and what makes its probes fire.
public struct DifferentialCase: Sendable {
    public var name: String
    /// The bpftrace program. `{{COMM}}` is replaced by the harness's trigger comm.
    public var source: String
    /// Shell commands run after both sides are attached, by a `/bin/sh` whose comm is the
    /// harness's unique `comm` (so `comm == "{{COMM}}"` selects exactly the trigger's own
    /// system calls; commands it runs have their own comm). "" runs nothing (BEGIN programs).
    public var trigger: String
    /// How long to keep both sides attached after the trigger (events drain, intervals fire).
    public var wait: Duration
    /// Pass `--unsafe` to bpftrace (`signal()`); the native side applies the same policy as
    /// the agent, which is not the harness's business.
    public var unsafe: Bool
    /// Run the trigger with the plain `/bin/sh` rather than the unique-comm shell (the
    /// behaviour checks of eval/prompts.jsonl are written for `/bin/sh -c`).
    public var plainShell: Bool

    public init(name: String, source: String, trigger: String = "", wait: Duration = .milliseconds(400),
                unsafe: Bool = false, plainShell: Bool = false) {
        self.plainShell = plainShell
        self.name = name
        self.source = source
        self.trigger = trigger
        self.wait = wait
        self.unsafe = unsafe
    }
}

/// What the native side did with a case.
public enum NativeStatus: Sendable, Equatable {
    /// Compiled, loaded, attached and stopped; its output was read.
    case ran
    /// The front end rejected it on this kernel: not counted in coverage.
    case unresolved(String)
    /// The generator does not support it: it would run on bpftrace.
    case unsupported(String)
    /// clang rejected the generated C (a generator bug).
    case compileFailed(String)
    /// The runtime could not load, attach or stop it (a verifier rejection, a runtime bug).
    case runtimeFailed(String)

    public var label: String {
        switch self {
        case .ran: "ran"
        case .unresolved: "unresolved"
        case .unsupported: "unsupported"
        case .compileFailed: "clang failed"
        case .runtimeFailed: "runtime failed"
        }
    }

    public var reason: String {
        switch self {
        case .ran: ""
        case let .unresolved(r), let .unsupported(r), let .compileFailed(r), let .runtimeFailed(r): r
        }
    }
}

/// The outcome of one case run both ways.
public struct DifferentialResult: Sendable {
    public var name: String
    public var native: NativeStatus
    /// The native output (empty unless `native == .ran`).
    public var nativeOutput: ParsedOutput
    /// bpftrace's output, or why bpftrace could not run the program.
    public var bpftrace: Result<ParsedOutput, DifferentialFailure>
    /// nil unless both sides ran.
    public var agreement: Agreement?
    /// How well two bpftrace runs of the program agree with each other (measured only when the
    /// native side is not equal): the bar for programs whose output depends on the machine.
    public var bpftraceSelfAgreement: Agreement?

    public init(name: String, native: NativeStatus, nativeOutput: ParsedOutput = ParsedOutput(items: [], lostEvents: 0, otherLines: []),
                bpftrace: Result<ParsedOutput, DifferentialFailure>, agreement: Agreement? = nil,
                bpftraceSelfAgreement: Agreement? = nil) {
        self.name = name
        self.native = native
        self.nativeOutput = nativeOutput
        self.bpftrace = bpftrace
        self.agreement = agreement
        self.bpftraceSelfAgreement = bpftraceSelfAgreement
    }

    /// Equal to bpftrace's output, or as close to it as bpftrace comes to itself.
    public var matchesBpftrace: Bool {
        guard let agreement else { return false }
        if agreement.isEqual { return true }
        guard let bar = bpftraceSelfAgreement else { return false }
        return agreement <= bar
    }

    /// Items present on one side only, for the report.
    public var difference: String {
        guard case let .success(reference) = bpftrace, native == .ran else { return "" }
        return describeDifference(native: nativeOutput, reference: reference)
    }

    /// One line: name, native status, agreement.
    public var summary: String {
        var parts = ["\(name): native \(native.label)"]
        if native != .ran { parts.append("(\(native.reason.prefix(200)))") }
        switch bpftrace {
        case .success:
            if let agreement { parts.append("— \(agreement.rawValue)") } else { parts.append("— bpftrace ran") }
            if let bar = bpftraceSelfAgreement { parts.append("(bpftrace against itself: \(bar.rawValue))") }
        case let .failure(failure): parts.append("— bpftrace failed: \(failure.message.prefix(200))")
        }
        return parts.joined(separator: " ")
    }
}

public struct DifferentialFailure: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Runs one bpftrace program two ways at the same time — natively (parse, resolve against this
/// kernel, `NativeCompiler`, `NativeExtension`) and under the installed bpftrace (`-f json`, a
/// child started by `BpftraceRunner`) — fires the same trigger once for both, stops both and
/// compares their JSON lines (`Agreement`).
///
/// Both sides are attached before the trigger runs and stopped after it, so they see the same
/// events: a pid the program prints is the same pid on both sides. The trigger is a `/bin/sh`
/// started through a symlink named `comm` (a unique name of 11 characters; the kernel takes a
/// task's comm from the executed path's last component), which programs filter on.
///
/// Needs root, a kernel with BTF, and bpftrace (`unavailableReason`). Leaves nothing behind:
/// `close()` removes its work directory and pin root.
public final class DifferentialHarness: Sendable {
    public let kernel: KernelInfo
    /// The trigger's comm.
    public let comm: String
    public let workDirectory: String
    public let pinRoot: String
    let runner: BpftraceRunner

    /// Why the harness cannot run here, or nil.
    public static func unavailableReason(kernel: KernelInfo) -> String? {
        if getuid() != 0 { return "not root: loading BPF programs and running bpftrace need root" }
        if kernel.btf == nil { return "this kernel has no BTF (/sys/kernel/btf/vmlinux): the native generator needs it" }
        if (try? BpftraceRunner().executable()) == nil { return "bpftrace is not installed" }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/clang") { return "clang is not installed (/usr/bin/clang)" }
        return nil
    }

    public init(kernel: KernelInfo) throws {
        self.kernel = kernel
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        comm = "kd" + String(repeating: "0", count: 8 - tag.count) + tag + "x"
        workDirectory = NSTemporaryDirectory() + "ken-diff-\(getpid())-\(tag)"
        pinRoot = "/sys/fs/bpf/ken-diff-\(getpid())-\(tag)"
        runner = BpftraceRunner(configuration: BpftraceConfiguration(attachTimeout: .seconds(60), stopGracePeriod: .seconds(10),
                                                                     verbose: false))
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: triggerShell, withDestinationPath: "/bin/sh")
    }

    /// Removes the work directory and whatever remains under the pin root.
    public func close() {
        try? FileManager.default.removeItem(atPath: workDirectory)
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: pinRoot) {
            for entry in entries { NativeExtension.removePins(id: entry, pinRoot: pinRoot) }
        }
        try? FileManager.default.removeItem(atPath: pinRoot)
    }

    /// The shell whose comm is `comm`.
    public var triggerShell: String { workDirectory + "/" + comm }

    /// `source` with `{{COMM}}` filled in.
    public func instantiate(_ source: String) -> String {
        source.replacingOccurrences(of: "{{COMM}}", with: comm)
    }

    /// Parses and resolves against this kernel (what the agent does before generating code).
    public func resolve(_ source: String, name: String) -> Result<ResolvedProgram, DifferentialFailure> {
        let checked = Checker.check(source: source, file: name, kernel: kernel)
        guard let resolved = checked.resolved, !checked.hasErrors else {
            let errors = checked.diagnostics.filter { $0.severity == .error }.map(\.message)
            return .failure(DifferentialFailure(errors.prefix(2).joined(separator: "; ")))
        }
        return .success(resolved)
    }

    /// Compiles a resolved program natively.
    public func compile(_ resolved: ResolvedProgram) -> Result<NativeArtifact, NativeCompileError> {
        do throws(NativeCompileError) {
            return .success(try NativeCompiler(kernel: kernel).compile(resolved))
        } catch {
            return .failure(error)
        }
    }

    /// Runs `testCase` natively and under bpftrace at the same time, and compares.
    public func run(_ testCase: DifferentialCase) async -> DifferentialResult {
        let source = instantiate(testCase.source)
        var result = DifferentialResult(name: testCase.name, native: .ran, nativeOutput: ParsedOutput(items: [], lostEvents: 0, otherLines: []),
                                        bpftrace: .failure(DifferentialFailure("not run")), agreement: nil)
        var compiled: NativeArtifact?
        switch resolve(source, name: testCase.name) {
        case let .failure(why):
            result.native = .unresolved(why.message)
            return result
        case let .success(resolved):
            switch compile(resolved) {
            case let .success(artifact): compiled = artifact
            case let .failure(.unsupported(u)): result.native = .unsupported(u.reason)
            case let .failure(.unresolved(m)): result.native = .unresolved(m)
            case let .failure(.clang(log)): result.native = .compileFailed(String(log.prefix(2000)))
            }
        }
        // Nothing to compare with: bpftrace is not run for a program that cannot run natively.
        guard let artifact = compiled else {
            result.bpftrace = .failure(DifferentialFailure("not run: the native side did not compile"))
            return result
        }
        let slot = workDirectory + "/" + Self.slug(testCase.name) + "-" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
        let bpftraceDirectory = slot + "/bpftrace", nativeDirectory = slot + "/native"
        defer { try? FileManager.default.removeItem(atPath: slot) }
        try? FileManager.default.createDirectory(atPath: nativeDirectory, withIntermediateDirectories: true)

        // bpftrace first: it takes longest to attach.
        var reference: BpftraceProcess?
        do {
            var configuration = runner.configuration
            if testCase.unsafe { configuration.extraArguments = ["--unsafe"] }
            reference = try await BpftraceRunner(configuration: configuration).start(script: source, directory: bpftraceDirectory)
        } catch {
            result.bpftrace = .failure(DifferentialFailure("\(error)"))
        }
        var native: NativeExtension?
        let exited = ExitFlag()
        do throws(NativeRuntimeError) {
            native = try NativeExtension.start(artifact, id: "d" + String(UInt32.random(in: 0...UInt32.max), radix: 16),
                                               pinRoot: pinRoot, outputDirectory: nativeDirectory,
                                               onExit: { _ in exited.set() })
        } catch {
            result.native = .runtimeFailed(error.description)
        }
        if !testCase.trigger.isEmpty, reference != nil || native != nil {
            try? await Task.sleep(for: .milliseconds(100))
            await Self.shell(testCase.plainShell ? "/bin/sh" : triggerShell, testCase.trigger, timeout: .seconds(30))
        }
        // Wait for the events to drain, or for both sides to end by themselves (exit()).
        let clock = ContinuousClock()
        let deadline = clock.now + testCase.wait
        while clock.now < deadline {
            if (reference?.exitStatus != nil || reference == nil), (exited.isSet || native == nil) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Both sides stop at once: SIGINT makes bpftrace leave its event loop (its printf output
        // ends there) while the native side detaches. Stopping one after the other would let
        // the later one see the earlier one's teardown (its munmaps, its pins removed).
        if let reference, reference.exitStatus == nil { kill(reference.pid, SIGINT) }
        if let native {
            do throws(NativeRuntimeError) {
                if !exited.isSet { try native.stop() }
            } catch {
                result.native = .runtimeFailed("stop: \(error.description)")
            }
            if case .ran = result.native {
                result.nativeOutput = ParsedOutput.parse(Self.settledText(nativeDirectory + "/stdout.log"))
            }
        } else if case .ran = result.native {
            result.native = .runtimeFailed("not started")
        }
        if let reference {
            let stopDeadline = clock.now + .seconds(15)
            while reference.exitStatus == nil, clock.now < stopDeadline { try? await Task.sleep(for: .milliseconds(10)) }
            if reference.exitStatus == nil { _ = await reference.stop() } else { _ = await reference.waitForExit() }
            result.bpftrace = .success(ParsedOutput.parse(Self.settledText(bpftraceDirectory + "/stdout.log")))
        }
        // The harness's own process acts between the two sides' windows (it loads the native
        // programs while bpftrace runs, signals bpftrace while the native side still runs):
        // lines naming its pid are one side's view of the harness, not of the trigger.
        let me = getpid()
        result.nativeOutput = result.nativeOutput.removingLines(mentioning: me)
        result.bpftrace = result.bpftrace.map { $0.removingLines(mentioning: me) }
        if case .ran = result.native, case let .success(referenceOutput) = result.bpftrace {
            result.agreement = Agreement.of(result.nativeOutput, referenceOutput)
        }
        return result
    }

    /// Runs `testCase` under two bpftrace children at once with one trigger, stopped together:
    /// how well bpftrace agrees with itself. A program whose output depends on the rest of the
    /// machine (system-wide events, times, latencies) cannot be equal between two runs; the
    /// native side is then held to the agreement bpftrace reaches with itself.
    public func bpftraceSelfAgreement(_ testCase: DifferentialCase) async -> Agreement? {
        let source = instantiate(testCase.source)
        let slot = workDirectory + "/" + Self.slug(testCase.name) + "-self-" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: slot) }
        var configuration = runner.configuration
        if testCase.unsafe { configuration.extraArguments = ["--unsafe"] }
        let bpftrace = BpftraceRunner(configuration: configuration)
        var children: [BpftraceProcess] = []
        for side in ["a", "b"] {
            guard let child = try? await bpftrace.start(script: source, directory: slot + "/" + side) else { break }
            children.append(child)
        }
        guard children.count == 2 else {
            for child in children { _ = await child.stop() }
            return nil
        }
        if !testCase.trigger.isEmpty {
            try? await Task.sleep(for: .milliseconds(100))
            await Self.shell(testCase.plainShell ? "/bin/sh" : triggerShell, testCase.trigger, timeout: .seconds(30))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + testCase.wait
        while clock.now < deadline, children.contains(where: { $0.exitStatus == nil }) { try? await Task.sleep(for: .milliseconds(20)) }
        for child in children where child.exitStatus == nil { kill(child.pid, SIGINT) }
        for child in children {
            let stopDeadline = clock.now + .seconds(15)
            while child.exitStatus == nil, clock.now < stopDeadline { try? await Task.sleep(for: .milliseconds(10)) }
            if child.exitStatus == nil { _ = await child.stop() } else { _ = await child.waitForExit() }
        }
        let me = getpid()
        let outputs = ["a", "b"].map {
            ParsedOutput.parse(Self.settledText(slot + "/" + $0 + "/stdout.log")).removingLines(mentioning: me)
        }
        return Agreement.of(outputs[0], outputs[1])
    }

    /// Runs `testCase` under bpftrace only (the reference side alone): its parsed output.
    public func runBpftrace(_ testCase: DifferentialCase) async -> Result<ParsedOutput, DifferentialFailure> {
        let source = instantiate(testCase.source)
        let directory = workDirectory + "/" + Self.slug(testCase.name) + "-bpftrace-" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = runner.configuration
        if testCase.unsafe { configuration.extraArguments = ["--unsafe"] }
        let process: BpftraceProcess
        do {
            process = try await BpftraceRunner(configuration: configuration).start(script: source, directory: directory)
        } catch {
            return .failure(DifferentialFailure("\(error)"))
        }
        if !testCase.trigger.isEmpty {
            try? await Task.sleep(for: .milliseconds(100))
            await Self.shell(testCase.plainShell ? "/bin/sh" : triggerShell, testCase.trigger, timeout: .seconds(30))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + testCase.wait
        while clock.now < deadline, process.exitStatus == nil { try? await Task.sleep(for: .milliseconds(20)) }
        if process.exitStatus == nil { _ = await process.stop() } else { _ = await process.waitForExit() }
        return .success(ParsedOutput.parse(Self.settledText(directory + "/stdout.log")))
    }

    /// Runs `testCase` natively only (no bpftrace): for checks of documented semantics.
    public func runNative(_ testCase: DifferentialCase) async -> (NativeStatus, ParsedOutput) {
        var copy = testCase
        copy.source = instantiate(testCase.source)
        let empty = ParsedOutput(items: [], lostEvents: 0, otherLines: [])
        let resolved: ResolvedProgram
        switch resolve(copy.source, name: copy.name) {
        case let .failure(why): return (.unresolved(why.message), empty)
        case let .success(r): resolved = r
        }
        let artifact: NativeArtifact
        switch compile(resolved) {
        case let .success(a): artifact = a
        case let .failure(.unsupported(u)): return (.unsupported(u.reason), empty)
        case let .failure(.unresolved(m)): return (.unresolved(m), empty)
        case let .failure(.clang(log)): return (.compileFailed(log), empty)
        }
        let directory = workDirectory + "/" + Self.slug(copy.name) + "-native-" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exited = ExitFlag()
        let native: NativeExtension
        do throws(NativeRuntimeError) {
            native = try NativeExtension.start(artifact, id: "n" + String(UInt32.random(in: 0...UInt32.max), radix: 16),
                                               pinRoot: pinRoot, outputDirectory: directory, onExit: { _ in exited.set() })
        } catch {
            return (.runtimeFailed(error.description), empty)
        }
        if !copy.trigger.isEmpty {
            try? await Task.sleep(for: .milliseconds(100))
            await Self.shell(copy.plainShell ? "/bin/sh" : triggerShell, copy.trigger, timeout: .seconds(30))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + copy.wait
        while clock.now < deadline, !exited.isSet { try? await Task.sleep(for: .milliseconds(20)) }
        do throws(NativeRuntimeError) {
            if !exited.isSet { try native.stop() }
        } catch {
            return (.runtimeFailed("stop: \(error.description)"), empty)
        }
        return (.ran, ParsedOutput.parse(Self.settledText(directory + "/stdout.log")))
    }

    /// The file's text once it stopped growing (a writer may still be flushing), at most 2 s.
    static func settledText(_ path: String) -> String {
        var last = -1
        for _ in 0..<40 {
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            if size == last { break }
            last = size
            Thread.sleep(forTimeInterval: 0.05)
        }
        return (FileManager.default.contents(atPath: path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Runs `shell -c command` (output discarded), killed after `timeout`.
    static func shell(_ shell: String, _ command: String, timeout: Duration) async {
        await BehaviourCheck.shell(command, timeout: timeout, shell: shell)
    }

    static func slug(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(40))
    }
}

/// Set once from the runtime's exit callback, read by the harness.
final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

extension DifferentialHarness {
    /// nil when the native backend compiles and runs `BEGIN { exit(); }`; otherwise what the
    /// generator or runtime said (the skeletons on main say "not built yet").
    public func nativeBackendMissing() -> String? {
        guard case let .success(resolved) = resolve("BEGIN { exit(); }", name: "probe.bt") else { return "the front end rejected BEGIN { exit(); }" }
        switch compile(resolved) {
        case let .failure(error): return error.description
        case let .success(artifact):
            do throws(NativeRuntimeError) {
                _ = try NativeExtension.verifyOnly(artifact)
                return nil
            } catch {
                return error.description
            }
        }
    }
}
