import AgentCore
import Foundation
import KenProto
import KenRPC
import XCTest

/// `kenc logs` shows the extension's output as bpftrace prints it in text mode; the agent's notes
/// and bpftrace's diagnostics (RLIMIT_MEMLOCK, verifier log, JSON events) only with `notes`.
final class AgentLogsTests: XCTestCase {
    func testLogsShowOutputOnlyAndNotesOnRequest() async throws {
        try TestAgent.requireKernel()
        let agent = try TestAgent()
        try await agent.start()
        addTeardownBlock { await agent.cleanUp() }
        let script = """
            BEGIN { @seen["x"] = count(); print(@seen); printf("logs-marker\\n"); }
            tracepoint:syscalls:sys_enter_getppid { @n = count(); }
            """
        let attached = try await agent.attach(script, name: "logs-filter")
        XCTAssertEqual(attached.status.code, .ok, attached.status.message)
        let id = attached.attach.extension.id

        func lines(notes: Bool) async throws -> [Ken_V1_LogLine] {
            guard let client = try? await AgentClient.connect(path: agent.socketPath) else { throw XCTSkip("no client") }
            defer { Task { await client.close() } }
            var request = Ken_V1_AgentRequest()
            request.logs = Ken_V1_LogsRequest.with { $0.id = id; $0.notes = notes }
            var all: [Ken_V1_LogLine] = []
            for try await response in client.stream(request) { if case .log(let line)? = response.result { all.append(line) } }
            return all
        }
        let printed = await eventually(timeout: 15) {
            ((try? await lines(notes: false)) ?? []).contains { $0.text == "logs-marker" }
        }
        XCTAssertTrue(printed, "the script's printf reaches logs")

        let output = try await lines(notes: false).map(\.text)
        XCTAssertTrue(output.contains("@seen[x]: 1"), "print() reads as bpftrace's text output: \(output)")
        XCTAssertFalse(output.contains { $0.contains("RLIMIT_MEMLOCK") }, "\(output)")
        XCTAssertFalse(output.contains { $0.hasPrefix("{") }, "no JSON envelopes: \(output)")
        XCTAssertFalse(output.contains { $0.contains("attached: bpftrace pid") }, "no agent notes: \(output)")

        let withNotes = try await lines(notes: true)
        XCTAssertTrue(withNotes.contains { $0.stream == "agent" && $0.text.contains("attached: bpftrace pid") },
                      "--notes keeps the agent's notes: \(withNotes.map(\.text))")
        XCTAssertTrue(withNotes.contains { $0.stream == "stderr" && $0.text.contains("RLIMIT_MEMLOCK") },
                      "--notes keeps bpftrace's diagnostics: \(withNotes.map(\.text))")
    }
}
