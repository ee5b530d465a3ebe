import Foundation
@testable import KernelLoader
import XCTest

/// Decoding bpftrace output lines and keeping log files bounded (no kernel needed).
final class OutputAndLogTests: XCTestCase {
    func testDecodesBpftraceJSONAndText() {
        let printf = OutputLine.decode(#"{"type": "printf", "data": "hi 42\n"}"#, stream: .stdout)
        XCTAssertEqual(printf.kind, .printf)
        XCTAssertEqual(printf.text, "hi 42")

        let map = OutputLine.decode(#"{"type": "map", "data": {"@c": 3}}"#, stream: .stdout)
        XCTAssertEqual(map.kind, .json(type: "map"))
        XCTAssertEqual(map.text, #"{"type": "map", "data": {"@c": 3}}"#)

        let attached = OutputLine.decode(#"{"type": "attached_probes", "data": {"probes": 2}}"#, stream: .stdout)
        XCTAssertTrue(attached.isAttachAnnouncement)
        XCTAssertTrue(OutputLine.decode("Attaching 3 probes...", stream: .stdout).isAttachAnnouncement)
        XCTAssertTrue(OutputLine.decode("Attaching 1 probe...", stream: .stdout).isAttachAnnouncement)
        XCTAssertTrue(OutputLine.decode("Attached 2 probes", stream: .stdout).isAttachAnnouncement)
        XCTAssertFalse(OutputLine.decode("Attaching BEGIN", stream: .stderr).isAttachAnnouncement)

        let warning = OutputLine.decode("ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.",
                                        stream: .stderr)
        XCTAssertEqual(warning.kind, .text)
        XCTAssertTrue(warning.isMemlockWarning)

        // Malformed JSON is text, never a crash.
        XCTAssertEqual(OutputLine.decode(#"{"type": "printf", "data": "#, stream: .stdout).kind, .text)
        XCTAssertEqual(OutputLine.decode(#"{"data": 1}"#, stream: .stdout).kind, .text)
    }

    func testTailerReturnsWholeLinesAndRotatesAtTheBound() throws {
        let directory = try KernelTestSupport.temporaryDirectory("ken-log")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/stdout.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("old line\n".utf8)))
        let tailer = LogTailer(path: path, stream: .stdout, limitBytes: 100)
        let writer = open(path, O_WRONLY | O_APPEND)
        XCTAssertGreaterThanOrEqual(writer, 0)
        defer { close(writer) }
        func write(_ text: String) { _ = text.withCString { Glibc.write(writer, $0, strlen($0)) } }

        XCTAssertEqual(tailer.poll(), [], "history before the start is not replayed")
        write("first\nsec")
        XCTAssertEqual(tailer.poll(), ["first"])
        write("ond\n")
        XCTAssertEqual(tailer.poll(), ["second"])

        // Past the bound: the read content moves to .1 and the live file starts over.
        let long = (0..<10).map { "line \($0) padding padding\n" }.joined()
        write(long)
        XCTAssertEqual(tailer.poll().count, 10)
        XCTAssertEqual(LogTailer.size(of: path), 0)
        let previous = try String(contentsOfFile: path + ".1", encoding: .utf8)
        XCTAssertTrue(previous.hasSuffix("line 9 padding padding\n"))

        // The writer (O_APPEND) continues at the new start, without a hole.
        write("after rotation\n")
        XCTAssertEqual(tailer.poll(), ["after rotation"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "after rotation\n")

        let recent = LogTailer.recentText(path: path, maxBytes: 60)
        XCTAssertTrue(recent.hasSuffix("after rotation\n"))
        XCTAssertLessThanOrEqual(recent.utf8.count, 60)

        write("no newline yet")
        XCTAssertEqual(tailer.poll(), [])
        XCTAssertEqual(tailer.flush(), ["no newline yet"])
    }
}
