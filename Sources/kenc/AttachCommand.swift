import AgentCLI
import ArgumentParser
import BpftraceSemantics
import Foundation
import KenProto

/// `kenc attach FILE [--name NAME]`: send a bpftrace script or a compiled BPF object to the
/// agent; prints the new extension's id (so `ID=$(kenc attach x.bt)` works).
struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach a bpftrace script (.bt) or a BPF object (.o) through ken-agent; prints its id.")

    @Argument(help: ArgumentHelp("The .bt script or .o object.", valueName: "file"))
    var file: String

    @Option(help: "A name for the extension (unique among attached ones; default: its id).")
    var name: String?

    @Option(help: ArgumentHelp("What to do when it dies: no, on-failure or always (default: the agent's policy).", valueName: "policy"))
    var restart: String?

    @Flag(help: "Print the whole extension as JSON instead of its id.")
    var json = false

    @Flag(help: "Only pass it through the agent's checks and the kernel verifier: nothing is attached and no probe body runs.")
    var verifyOnly = false

    @OptionGroup var agent: AgentSocketOptions

    func validate() throws {
        if let restart, !["no", "on-failure", "always"].contains(restart) {
            throw ValidationError("--restart must be no, on-failure or always")
        }
    }

    func run() async throws {
        if verifyOnly { return try await runVerifyOnly() }
        try await runAgentCommand { () throws(AgentCLIError) in
            var request = try AgentCalls.attachRequest(path: file, name: name, restart: restart)
            // Ken's own front end and resolution first: `file:3:28: … did you mean 'filename'?`
            // about the user's file, before bpftrace ever sees the agent's copy of it.
            if request.kind == .bpftrace, let checked = Checker.check(paths: [file], useKernel: true).first {
                if checked.hasErrors {
                    throw AgentCLIError(.failure, "\(file) does not check against this kernel; nothing was attached",
                                        detail: Checker.renderText([checked]), hint: "kenc check \(file) shows the same diagnostics")
                }
                // Includes BTF makes needless are left out of what the agent runs (their lines
                // emptied, so bpftrace's line numbers stay the user's), saying so.
                if !checked.droppedIncludes.isEmpty, let source = checked.source {
                    FileHandle.standardError.write(Data((Checker.renderText([checked]) + "\n").utf8))
                    request.programText = NeedlessIncludes.removing(checked.droppedIncludes, from: source)
                }
            }
            let response: Ken_V1_AgentResponse
            do throws(AgentCLIError) {
                response = try await agent.calls.call { $0.attach = request }
            } catch {
                throw error.naming(script: file)
            }
            let ext = response.attach.extension
            emit(json ? AgentJSON.render(AgentJSON.object(ext)) : ext.id + "\n")
        }
    }

    /// `--verify-only`: prints the programs that went through the kernel verifier and the log; exits 1 if the kernel refused.
    func runVerifyOnly() async throws {
        var accepted = true
        try await runAgentCommand { () throws(AgentCLIError) in
            let request = try AgentCalls.verifyRequest(path: file)
            let reply = try await agent.calls.verify(request) { place in
                FileHandle.standardError.write(Data("kenc: queued for verification (place \(place))\n".utf8))
            }
            accepted = reply.accepted
            if json {
                emit((try? reply.jsonString()) ?? "{}")
                emit("\n")
            } else {
                emit(reply.accepted ? "accepted\n" : "rejected\n")
                for program in reply.programs { emit("  \(program)\n") }
                if !reply.log.isEmpty { emit(reply.log + (reply.log.hasSuffix("\n") ? "" : "\n")) }
            }
        }
        if !accepted { throw ExitCode(AgentExitCode.failure.rawValue) }
    }
}
