import Foundation

/// The mechanical judgement of an attached extension: run the entry's trigger, then read the
/// extension's output through ken-agent's Logs until it matches `expect` or time runs out.
public struct BehaviourCheck: Sendable {
    /// How long to keep reading the output after the trigger finished.
    public var wait: Duration
    /// How long the trigger may run before it is killed.
    public var triggerTimeout: Duration
    /// A pause between the attach and the trigger, so the probes are live.
    public var settle: Duration

    public init(wait: Duration = .seconds(3), triggerTimeout: Duration = .seconds(20), settle: Duration = .milliseconds(300)) {
        self.wait = wait
        self.triggerTimeout = triggerTimeout
        self.settle = settle
    }

    public struct Result: Sendable, Equatable {
        public var passed: Bool
        /// The end of the output read last.
        public var output: String
    }

    /// Runs the trigger and polls `extensionID`'s output.
    public func run(entry: EvalEntry, extensionID: String, agent: EvalAgent) async throws -> Result {
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: entry.expect)
        } catch {
            throw DatasetError.badExpect(id: entry.id, reason: "\(error)")
        }
        try? await Task.sleep(for: settle)
        // The trigger runs a second time when the first left no match: under load the first
        // events can race the probes going live, which is the harness's fault, not the program's.
        var output = ""
        for _ in 0..<2 {
            await Self.shell(entry.trigger, timeout: triggerTimeout)
            let clock = ContinuousClock()
            let deadline = clock.now + wait
            while true {
                output = (try? await agent.output(id: extensionID)) ?? output
                if regex.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)) != nil {
                    return Result(passed: true, output: String(output.suffix(2000)))
                }
                if clock.now >= deadline { break }
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        return Result(passed: false, output: String(output.suffix(2000)))
    }

    /// Runs `command` with `shell -c` (/bin/sh unless told), output discarded; killed after
    /// `timeout`. The differential suite passes a shell whose comm its programs filter on.
    public static func shell(_ command: String, timeout: Duration, shell: String = "/bin/sh") async {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: shell)
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while process.isRunning {
            if clock.now >= deadline {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
