import ArgumentParser
import Fleet
import Foundation
import KenProto
import KenRPC

/// `kenc apply`: make the extensions on this host match a directory of manifests.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Attach what the manifests declare, re-synthesize what changed, optionally prune the rest.",
        discussion: """
            Reads *.toml manifests (name, prompt, optional pinned program) from a directory or \
            one file and asks kend to reconcile: declared but missing extensions are synthesized \
            and attached, changed ones replaced once their new version passes every check, unchanged ones \
            left alone; with --prune, extensions an earlier apply created and no manifest \
            declares any more are detached. A second run changes nothing and says so. \
            --require-proof (or require_proof = true in a manifest) attaches only PROVEN programs.
            Exit status (as Puppet's --detailed-exitcodes): 0 no change, 2 changed, 4 failed, \
            6 changed and failed; 1 the manifests could not be read; 5 kend unreachable.
            """)

    @Option(name: [.customShort("f"), .customLong("file")], help: "A manifest directory or file.")
    var path = ManifestLoader.defaultDirectory

    @Flag(help: "Detach extensions created by an earlier apply that no manifest declares any more.")
    var prune = false

    @Flag(help: "Attach only PROVEN programs; a CHECKED one fails with the reason nothing was proven.")
    var requireProof = false

    @Flag(help: "Show the plan; change nothing.")
    var dryRun = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "kend's socket (env KEN_SOCKET).")
    var kendSocket: String = ProcessInfo.processInfo.environment["KEN_SOCKET"] ?? "/run/ken/kend.sock"

    func run() async throws {
        let manifests: [Manifest]
        do {
            manifests = try ManifestLoader.load(path: path)
        } catch {
            printError("kenc: \(error)")
            throw ExitCode(1)
        }
        var request = Ken_V1_KendRequest()
        request.apply = Ken_V1_ApplyRequest.with {
            $0.manifests = manifests.map(\.proto)
            $0.prune = prune
            $0.dryRun = dryRun
            $0.requireProof = requireProof
        }
        let response: Ken_V1_KendResponse
        do {
            response = try await KendCall.run(socket: kendSocket, request) { event in
                if !json { printError(ReportLine.progress(event)) }
            }
        } catch let exit as ExitCode where exit.rawValue == 1 || exit.rawValue == 3 {
            throw ExitCode(4)  // a refused apply is a failed apply for configuration management
        }
        guard case .apply(let reply) = response.result else {
            printError("kenc: kend answered without an apply result")
            throw ExitCode(4)
        }
        print(json ? ApplyFormatting.json(reply, dryRun: dryRun) : ApplyFormatting.table(reply, dryRun: dryRun))
        let status = ApplyFormatting.exitStatus(reply)
        if status != 0 { throw ExitCode(status) }
    }
}

/// One progress line of an apply (which extension, which stage).
enum ReportLine {
    static func progress(_ event: Ken_V1_SynthesisEvent) -> String {
        "[\(event.taskID.prefix(8)) attempt \(event.attempt)] \(event.message)"
    }
}
