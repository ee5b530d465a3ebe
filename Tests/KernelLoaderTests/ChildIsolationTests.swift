import Foundation
import KernelLoader
import XCTest

/// The bpftrace child is isolated from the agent: own session, no inherited descriptors, alive
/// after its supervisor lets go, reaped after it stops.
final class ChildIsolationTests: XCTestCase {
    func testChildHasOwnSessionNoInheritedFDsSurvivesSupervisorAndIsReaped() async throws {
        try KernelTestSupport.requireRoot()
        try KernelTestSupport.requireTracefs()
        let runner = BpftraceRunner()
        do { _ = try runner.executable() } catch { throw XCTSkip("bpftrace not installed: \(error)") }
        let directory = try KernelTestSupport.temporaryDirectory("ken-iso")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // A descriptor without close-on-exec, as a careless library in the agent might leave.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let leakedInode = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fds[1])")

        var process: BpftraceProcess? = try await runner.start(
            script: "tracepoint:syscalls:sys_enter_getpid { @n = count(); }", directory: directory)
        let pid = try XCTUnwrap(process?.pid)
        XCTAssertEqual(getsid(pid), pid, "own session: a terminal's SIGINT to the agent does not reach it")
        XCTAssertEqual(getpgid(pid), pid)

        let childFDs = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        let targets = childFDs.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        XCTAssertFalse(targets.contains(leakedInode), "the agent's pipe leaked into the child: \(targets)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1"),
                       directory + "/stdout.log")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0"), "/dev/null")

        // The supervisor object goes away (agent exit): the extension keeps running.
        process = nil
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(kill(pid, 0), 0, "the child outlives its supervisor")

        // A new supervisor stops it; the original waitpid thread reaps it: no zombie remains.
        let adopted = try runner.adopt(pid: pid, directory: directory)
        _ = await adopted.stop()
        let reaped = await KernelTestSupport.waitUntil(timeout: .seconds(2)) {
            !FileManager.default.fileExists(atPath: "/proc/\(pid)")
        }
        XCTAssertNotNil(reaped, "no zombie left behind")
    }
}
