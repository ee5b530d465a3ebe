import Glibc

/// Starts a child process with posix_spawn: its stdin, stdout and stderr opened from paths,
/// every other descriptor closed, default signal dispositions and an empty signal mask,
/// optionally in a new session. The agent's two kinds of children (bpftrace extensions and
/// clang compiling generated C) start through here.
///
/// Why not Foundation's `Process`: on Linux it watches its children through a CFSocket wakeup
/// pair and a run-loop thread, which fails noisily under the agent's systemd sandbox
/// ("Could not create wakeup socket pair for CFSocket"), and it keeps the parent's ignored
/// signals (ignored signals survive exec) and its descriptors unless told otherwise.
/// Why files, not pipes: a child writing into a pipe whose reader went away gets SIGPIPE, and a
/// parent writing into one whose child went away gets it too; files have neither problem.
public enum Spawn {
    /// An errno-style failure of one spawn step.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let errno: Int32
        public var description: String { "cannot start the process: \(String(cString: strerror(errno)))" }
    }

    /// How a child's standard descriptor is opened.
    public enum Stream: Sendable, Equatable {
        case devNull
        /// Opened for reading (stdin).
        case read(String)
        /// Created if missing and appended to, mode 0640.
        case append(String)
        /// Created or truncated, mode 0600.
        case truncate(String)
    }

    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift by the Glibc module).
    private static let spawnSetSID: Int32 = 0x80

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc ≥ 2.34 provides it; looked up at run time because the Swift Glibc module hides it.
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0),
                                 "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Spawns `executable` with `arguments` (argv[1...]) and the complete `environment`
    /// (`NAME=value` strings); returns the child's pid.
    public static func start(executable: String, arguments: [String], environment: [String],
                             stdin: Stream = .devNull, stdout: Stream, stderr: Stream,
                             newSession: Bool = false) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw Failure(errno: errno) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { throw Failure(errno: errno) }
        defer { posix_spawnattr_destroy(&attributes) }

        // No O_CLOEXEC here: these become the child's fds 0-2 and must survive its exec.
        var rc: Int32 = 0
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] where rc == 0 {
            switch stream {
            case .devNull: rc = posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case let .read(path): rc = posix_spawn_file_actions_addopen(&actions, fd, path, O_RDONLY, 0)
            case let .append(path): rc = posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
            case let .truncate(path): rc = posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            }
        }
        if rc == 0, let closeFrom { rc = closeFrom(&actions, 3) }
        guard rc == 0 else { throw Failure(errno: rc) }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= spawnSetSID }
        rc = posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))
        guard rc == 0 else { throw Failure(errno: rc) }

        var pid: pid_t = 0
        rc = withCStringArray([executable] + arguments) { argv in
            withCStringArray(environment) { envp in
                posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        guard rc == 0 else { throw Failure(errno: rc) }
        return pid
    }

    /// How a waited-for child ended.
    public enum Outcome: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// Still running at the deadline: it was killed (SIGKILL) and reaped.
        case timedOut
    }

    /// Waits for `pid` until `seconds` have passed, then kills it. Polls every half millisecond:
    /// a short child (clang, about 30 ms) is reaped within that of its exit.
    public static func wait(_ pid: pid_t, seconds: Double) -> Outcome {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = Double(deadline.tv_sec) + Double(deadline.tv_nsec) / 1e9 + seconds
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return outcome(status) }
            if rc < 0 && errno != EINTR { return .exited(-1) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 >= end {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut
            }
            usleep(500)
        }
    }

    private static func outcome(_ status: Int32) -> Outcome {
        let low = status & 0x7f
        return low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }

    /// Calls `body` with a NULL-terminated C string array that lives for the call; returns
    /// `body`'s errno-style result (EINVAL if the array could not be built).
    private static func withCStringArray(_ strings: [String],
                                         _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return EINVAL }
            return body(base)
        }
    }
}
