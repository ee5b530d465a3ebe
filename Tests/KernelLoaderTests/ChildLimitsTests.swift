@testable import KernelLoader
import Foundation
import XCTest

/// Every child the agent runs is capped before it runs its own code.
final class ChildLimitsTests: XCTestCase {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "ken-limits-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func testLimitsAreInPlaceWhenTheChildRuns() async throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let limits = ChildLimits(addressSpaceBytes: 512 << 20, cpuSeconds: 7, diesWithAgent: true)
        let pid = try ChildSpawn.spawn(executable: "/bin/sleep", arguments: ["30"], environment: [:],
                                       stdoutPath: dir + "/out", stderrPath: dir + "/err", limits: limits)
        defer { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        // prlimit and setpriv exec in place: once the command line is sleep's, the caps are set.
        let deadline = Date().addingTimeInterval(10)
        var limitsText = ""
        while Date() < deadline {
            let argv = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).split(separator: 0)
            if argv.first.map({ String(decoding: $0, as: UTF8.self) }) == "/bin/sleep" {
                limitsText = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        func line(_ name: String) -> String { limitsText.split(separator: "\n").first { $0.hasPrefix(name) }.map(String.init) ?? "" }
        XCTAssertTrue(line("Max address space").contains("536870912"), limitsText)
        XCTAssertTrue(line("Max cpu time").contains(" 7 "), limitsText)
        XCTAssertTrue(line("Max core file size").contains(" 0 "), limitsText)
    }

    func testAnAllocationPastTheCapFailsInsteadOfGrowing() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("needs python3") }
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pid = try ChildSpawn.spawn(executable: "/usr/bin/python3", arguments: ["-c", "b = bytearray(1 << 30); print('grew')"],
                                       environment: [:], stdoutPath: dir + "/out", stderrPath: dir + "/err",
                                       limits: ChildLimits(addressSpaceBytes: 256 << 20))
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        XCTAssertNotEqual(status, 0, "a 1 GiB allocation under a 256 MiB cap must fail")
        XCTAssertFalse(((try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "").contains("grew"))
        XCTAssertTrue(((try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "").contains("MemoryError"))
    }
}
