import AgentCore
import Foundation
import KernelInfo
import XCTest

/// The agent's published copy of tracefs gives unprivileged readers the same tracepoints and
/// formats as tracefs itself.
final class TracefsMirrorTests: XCTestCase {
    func testMirrorMatchesTracefs() throws {
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/tracing/available_events") else {
            throw XCTSkip("tracefs is not mounted or not readable here")
        }
        let destination = NSTemporaryDirectory() + "ken-mirror-\(getpid())/tracing"
        defer { try? FileManager.default.removeItem(atPath: (destination as NSString).deletingLastPathComponent) }
        let published = try TracefsMirror.publish(to: destination)
        let real = try Tracefs(roots: ["/sys/kernel/tracing"])
        let copy = try Tracefs(roots: [destination])
        XCTAssertEqual(copy.allTracepoints.count, real.allTracepoints.count)
        XCTAssertTrue(copy.allTracepoints == real.allTracepoints, "the copy lists the same tracepoints")
        XCTAssertEqual(published.events, real.allTracepoints.count)
        XCTAssertEqual(copy.kprobesAvailable, real.kprobesAvailable)
        for name in ["syscalls:sys_enter_openat", "sched:sched_switch", "sock:inet_sock_set_state"] {
            let parts = name.split(separator: ":").map(String.init)
            guard real.contains(category: parts[0], name: parts[1]) else { continue }
            XCTAssertEqual(try copy.format(category: parts[0], name: parts[1]).fields,
                           try real.format(category: parts[0], name: parts[1]).fields, name)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: destination + "/events/sched/sched_switch/format")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644, "readable by kend's user")

        // Publishing again replaces the copy in one step.
        let again = try TracefsMirror.publish(to: destination)
        XCTAssertEqual(again.events, published.events)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: (destination as NSString).deletingLastPathComponent)
            .contains { $0.contains(".new-") || $0.contains(".old-") }, "no staging leftovers")
    }
}
