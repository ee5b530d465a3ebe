import CSystemd
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One socket a service manager (systemd, `systemd-socket-activate`) passed to this process.
public struct ActivatedSocket: Sendable, Equatable {
    /// The file descriptor, already bound and listening; the caller owns it.
    public let fileDescriptor: Int32
    /// The name from `FileDescriptorName=` (`LISTEN_FDNAMES`); systemd uses "unknown" when unset.
    public let name: String

    public init(fileDescriptor: Int32, name: String) {
        self.fileDescriptor = fileDescriptor
        self.name = name
    }

    /// Whether this fd is an `AF_UNIX` stream socket in the listening state — the only kind a
    /// Ken daemon can serve; checked so a misconfigured unit fails with a clear message.
    public var isListeningUnixStreamSocket: Bool {
        sd_is_socket_unix(fileDescriptor, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
    }
}

/// Socket activation: the fds systemd hands over through LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES.
public enum SocketActivation {
    /// The first fd systemd passes (SD_LISTEN_FDS_START).
    public static let firstFileDescriptor: Int32 = 3

    /// The sockets passed to this process, in order; empty when not socket-activated (no
    /// LISTEN_FDS, or LISTEN_PID names another process — e.g. a parent that forgot to unset it).
    ///
    /// - Parameter unsetEnvironment: remove LISTEN_* so children do not believe they were
    ///   activated too. Defaults to true, as the sockets belong to this process alone.
    public static func listenedSockets(unsetEnvironment: Bool = true) throws(SystemdError) -> [ActivatedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(unsetEnvironment ? 1 : 0, &names)
        guard count >= 0 else { throw .listenFDs(errno: -count) }
        // libsystemd allocates each name and the array; we copy them out and free both.
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        var sockets: [ActivatedSocket] = []
        sockets.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let name = names.flatMap { $0[index] }.map { String(cString: $0) } ?? "unknown"
            sockets.append(ActivatedSocket(fileDescriptor: firstFileDescriptor + Int32(index), name: name))
        }
        return sockets
    }
}
