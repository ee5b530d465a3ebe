import Foundation
import Glibc

/// Notices the moment a process ends and reports how, exactly once, to every waiter.
///
/// - Own child: a dedicated thread blocks in `waitpid`, which also reaps it (no zombie) and yields
///   the real exit code or signal.
/// - Adopted process (started by an earlier agent, now a child of init): a thread blocks in
///   `poll` on a pidfd (`pidfd_open`, Linux ≥ 5.3), which becomes readable when the process
///   exits; the status is `.unknown` because only the parent may collect it. Without pidfd it
///   checks `kill(pid, 0)` every 100 ms.
final class ExitWatcher: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var status: ExitStatus?
    private var waiters: [CheckedContinuation<ExitStatus, Never>] = []

    init(pid: pid_t, isChild: Bool) {
        self.pid = pid
        let thread = Thread { [self] in
            let result = isChild ? Self.waitForChild(pid) : Self.waitForStranger(pid)
            finish(result)
        }
        thread.name = "ken-exit-\(pid)"
        thread.start()
    }

    /// The exit status once the process ended, nil while it runs.
    var current: ExitStatus? { lock.withLock { status } }

    /// Suspends until the process ends.
    func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let done: ExitStatus? = lock.withLock {
                if let status { return status }
                waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Waits at most `timeout`; nil if the process still runs.
    func wait(timeout: Duration) async -> ExitStatus? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if let status = current { return status }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return current
    }

    private func finish(_ result: ExitStatus) {
        let toResume: [CheckedContinuation<ExitStatus, Never>] = lock.withLock {
            status = result
            defer { waiters = [] }
            return waiters
        }
        for waiter in toResume { waiter.resume(returning: result) }
    }

    private static func waitForChild(_ pid: pid_t) -> ExitStatus {
        var raw: Int32 = 0
        while true {
            let rc = waitpid(pid, &raw, 0)
            if rc == pid { break }
            if rc < 0 && errno == EINTR { continue }
            // ECHILD: someone else reaped it; it is gone, the status is lost.
            return .unknown
        }
        // Decode the wait status (the WIFEXITED/WEXITSTATUS macros are not imported).
        let low = raw & 0x7f
        if low == 0 { return .exited(code: (raw >> 8) & 0xff) }
        return .signaled(signal: low)
    }

    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32

    private static let pidfdOpen: PidfdOpen? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_open") else { return nil }
        return unsafeBitCast(symbol, to: PidfdOpen.self)
    }()

    private static func waitForStranger(_ pid: pid_t) -> ExitStatus {
        if let pidfdOpen {
            let fd = pidfdOpen(pid, 0)
            if fd >= 0 {
                defer { close(fd) }
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                while true {
                    let rc = poll(&entry, 1, -1)
                    if rc > 0 { return .unknown }
                    if rc < 0 && errno != EINTR { break }
                }
            } else if errno == ESRCH {
                return .unknown
            }
        }
        while kill(pid, 0) == 0 || errno == EPERM {
            usleep(100_000)
        }
        return .unknown
    }
}
