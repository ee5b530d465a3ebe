import AgentCLI
import ArgumentParser
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
            let request = try AgentCalls.attachRequest(path: file, name: name, restart: restart)
            let response = try await agent.calls.call { $0.attach = request }
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
