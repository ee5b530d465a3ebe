import Foundation

/// kenc's standard output and error. Output goes to pipes (`kenc logs ID | head`), and a reader
/// that goes away must end kenc quietly: SIGPIPE is ignored so the write fails with EPIPE
/// instead of killing the process, and EPIPE on standard output ends kenc with status 0 — the
/// reader asked for no more. Nothing here traps or crashes on a closed pipe.
public enum Output {
    /// Call once at start, before anything is written.
    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Writes `text` to standard output, unbuffered.
    public static func print(_ text: String) {
        write(text, to: STDOUT_FILENO)
    }

    /// Writes `text` and a newline to standard output.
    public static func line(_ text: String) {
        print(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Writes `text` (a newline added when missing) to standard error.
    public static func error(_ text: String) {
        write(text.hasSuffix("\n") ? text : text + "\n", to: STDERR_FILENO)
    }

    /// What to do when standard output's reader is gone; exits 0 by default. Tests replace it.
    nonisolated(unsafe) public static var onBrokenPipe: @Sendable () -> Never = { exit(0) }

    static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                // A closed stdout ends kenc cleanly; a closed stderr has nobody left to tell.
                if fd == STDOUT_FILENO, errno == EPIPE { onBrokenPipe() }
                return
            }
            offset += count
        }
    }
}
