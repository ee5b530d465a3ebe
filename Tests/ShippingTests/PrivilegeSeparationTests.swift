import Foundation
import XCTest

/// The root agent links no LLM client, no HTTP library and no solver: less code running as root.
final class PrivilegeSeparationTests: XCTestCase {
    func testKenAgentLinksNeitherLibcurlNorZ3() throws {
        guard let directory = Shell.builtProgramsDirectory(),
              FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("ken-agent").path) else {
            throw XCTSkip("the ken-agent binary is not built next to the tests")
        }
        let ldd = try Shell.require("ldd", package: "libc-bin")
        let agent = try Shell.run(ldd, [directory.appendingPathComponent("ken-agent").path])
        XCTAssertEqual(agent.status, 0, agent.stderr)
        XCTAssertTrue(agent.stdout.contains("libbpf"), "the agent does load BPF: \(agent.stdout)")
        XCTAssertFalse(agent.stdout.contains("libz3"), agent.stdout)
        XCTAssertFalse(agent.stdout.contains("libcurl"), agent.stdout)
        // kend is where they live.
        let kend = try Shell.run(ldd, [directory.appendingPathComponent("kend").path])
        XCTAssertTrue(kend.stdout.contains("libz3") && kend.stdout.contains("libcurl"), kend.stdout)
    }
}
