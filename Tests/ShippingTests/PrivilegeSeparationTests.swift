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

    /// kenc is a thin client: it links neither libz3 nor libcurl. `kenc verify` runs the
    /// ken-verify helper, which is where Z3 is.
    func testKencLinksNeitherLibcurlNorZ3() throws {
        guard let directory = Shell.builtProgramsDirectory() else {
            throw XCTSkip("the kenc binary is not built next to the tests")
        }
        let ldd = try Shell.require("ldd", package: "libc-bin")
        let kenc = try Shell.run(ldd, [directory.appendingPathComponent("kenc").path])
        XCTAssertEqual(kenc.status, 0, kenc.stderr)
        XCTAssertFalse(kenc.stdout.contains("libz3"), kenc.stdout)
        XCTAssertFalse(kenc.stdout.contains("libcurl"), kenc.stdout)
        let helper = directory.appendingPathComponent("ken-verify").path
        guard FileManager.default.isExecutableFile(atPath: helper) else {
            throw XCTSkip("ken-verify is not built next to kenc")
        }
        let verify = try Shell.run(ldd, [helper])
        XCTAssertTrue(verify.stdout.contains("libz3"), "the verifier is in the helper: \(verify.stdout)")
        XCTAssertFalse(verify.stdout.contains("libcurl"), verify.stdout)
    }
}
