import ArgumentParser
import Foundation
import KenProto
import KenRPC

/// One call to kend from kenc: connect, stream, hand progress events to `onEvent`, and return
/// the final response — or exit with kenc's status for what went wrong (4 permission denied,
/// 5 kend unreachable, 1 any other refusal), having said why on stderr.
enum KendCall {
    static func run(socket: String, _ request: Ken_V1_KendRequest,
                    onEvent: (Ken_V1_SynthesisEvent) -> Void = { _ in }) async throws -> Ken_V1_KendResponse {
        let client: KendClient
        do {
            client = try await KendClient.connect(path: socket)
        } catch {
            printError("kenc: \(error)")
            throw ExitCode(5)
        }
        defer { Task { await client.close() } }
        var final: Ken_V1_KendResponse?
        do {
            for try await response in client.stream(request) {
                guard response.status.code == .ok else {
                    var text = "kenc: kend: \(response.status.message)"
                    if !response.status.detail.isEmpty { text += "\n\(response.status.detail)" }
                    if !response.status.hint.isEmpty { text += "\nhint: \(response.status.hint)" }
                    printError(text)
                    switch response.status.code {
                    case .permissionDenied: throw ExitCode(4)
                    case .notFound: throw ExitCode(3)
                    default: throw ExitCode(1)
                    }
                }
                if case .event(let event) = response.result {
                    onEvent(event)
                } else {
                    final = response
                }
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("kenc: \(error)")
            throw ExitCode(5)
        }
        guard let final else {
            printError("kenc: kend closed the call without an answer")
            throw ExitCode(1)
        }
        return final
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
