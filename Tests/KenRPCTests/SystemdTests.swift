import Foundation
import Systemd
import XCTest

/// The systemd wrapper against real sockets standing in for the service manager and journald.
final class SystemdTests: XCTestCase {
    private func datagramSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { close(fd); throw XCTSkip("cannot bind \(path): errno \(errno)") }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private func receive(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    func testNotifySendsOneDatagramToNotifySocket() throws {
        let directory = try TemporaryDirectory(self)
        let path = directory.file("notify")
        let fd = try datagramSocket(at: path)
        defer { close(fd) }
        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }

        XCTAssertTrue(try ServiceNotifier.notify([.ready, .status("serving\n3 extensions"), .mainPID(4242)]))
        XCTAssertEqual(receive(fd), "READY=1\nSTATUS=serving 3 extensions\nMAINPID=4242")
        XCTAssertTrue(try ServiceNotifier.notify(.watchdog))
        XCTAssertEqual(receive(fd), "WATCHDOG=1")
        XCTAssertTrue(try ServiceNotifier.notify([.stopping, .reloading]))
        XCTAssertEqual(receive(fd), "STOPPING=1\nRELOADING=1")

        unsetenv("NOTIFY_SOCKET")
        XCTAssertFalse(try ServiceNotifier.notify(.ready), "outside systemd notify is a no-op")

        setenv("NOTIFY_SOCKET", directory.file("nobody-listens"), 1)
        XCTAssertThrowsError(try ServiceNotifier.notify(.ready)) { error in
            guard case .notify = error as? SystemdError else { return XCTFail("\(error)") }
        }
    }

    func testWatchdogInterval() throws {
        defer { unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID") }
        unsetenv("WATCHDOG_USEC")
        XCTAssertNil(try ServiceNotifier.watchdogInterval())
        setenv("WATCHDOG_USEC", "1500000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        XCTAssertEqual(try ServiceNotifier.watchdogInterval(), .microseconds(1_500_000))
        setenv("WATCHDOG_PID", "1", 1)
        XCTAssertNil(try ServiceNotifier.watchdogInterval(), "the watchdog is for another process")
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        setenv("WATCHDOG_USEC", "soon", 1)
        XCTAssertThrowsError(try ServiceNotifier.watchdogInterval())
    }

    func testJournalStreamDetection() throws {
        var info = stat()
        XCTAssertEqual(fstat(2, &info), 0)
        XCTAssertTrue(Journal.stderrMatches(journalStream: "\(info.st_dev):\(info.st_ino)"))
        XCTAssertFalse(Journal.stderrMatches(journalStream: "\(info.st_dev):\(info.st_ino &+ 1)"))
        XCTAssertFalse(Journal.stderrMatches(journalStream: "not-a-stream"))
        XCTAssertFalse(Journal.stderrMatches(journalStream: ""))
        let saved = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        defer { if let saved { setenv("JOURNAL_STREAM", saved, 1) } else { unsetenv("JOURNAL_STREAM") } }
        setenv("JOURNAL_STREAM", "\(info.st_dev):\(info.st_ino)", 1)
        XCTAssertTrue(Journal.isStderrConnected)
        unsetenv("JOURNAL_STREAM")
        XCTAssertFalse(Journal.isStderrConnected)
    }

    func testJournalFieldNames() {
        XCTAssertTrue(Journal.isValidFieldName("KEN_EXTENSION_ID"))
        XCTAssertFalse(Journal.isValidFieldName("_PID"), "trusted fields are journald's")
        XCTAssertFalse(Journal.isValidFieldName("lower"))
        XCTAssertFalse(Journal.isValidFieldName("1ABC"))
        XCTAssertFalse(Journal.isValidFieldName(""))
        XCTAssertThrowsError(try Journal.send("x", fields: [(name: "bad name", value: "v")])) { error in
            XCTAssertEqual(error as? SystemdError, .invalidJournalField("bad name"))
        }
    }

    /// journald's socket path is fixed. When this machine runs no journald, the test plays
    /// journald on that path (as root) and reads the entry libsystemd sends.
    func testJournalSendReachesJournaldSocket() throws {
        let directory = "/run/systemd/journal"
        let socketPath = directory + "/socket"
        if FileManager.default.fileExists(atPath: socketPath) {
            XCTAssertNoThrow(try Journal.send("KenRPCTests journal check", priority: .debug,
                                              fields: [(name: "KEN_TEST", value: "1")]))
            return
        }
        guard getuid() == 0 else { throw XCTSkip("no journald here and not root: cannot stand in for journald at \(socketPath)") }
        let createdDirectory = !FileManager.default.fileExists(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = try datagramSocket(at: socketPath)
        defer {
            close(fd)
            unlink(socketPath)
            if createdDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
        try Journal.send("extension opens attached", priority: .warning,
                         fields: [(name: "KEN_EXTENSION_ID", value: "ext-1"), (name: "KEN_NOTE", value: "two\nlines")])
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        XCTAssertGreaterThan(count, 0)
        let entry = Array(buffer[0..<max(0, count)])
        let text = String(decoding: entry, as: UTF8.self)
        XCTAssertTrue(text.contains("MESSAGE=extension opens attached\n"), text)
        XCTAssertTrue(text.contains("PRIORITY=4\n"), text)
        XCTAssertTrue(text.contains("KEN_EXTENSION_ID=ext-1\n"), text)
        // A value with a newline uses journald's binary field form: NAME\n, 64-bit LE length, bytes.
        let binaryField = Array("KEN_NOTE\n".utf8) + [9, 0, 0, 0, 0, 0, 0, 0] + Array("two\nlines".utf8)
        XCTAssertNotNil(entry.firstRange(of: binaryField), text)
    }
}
