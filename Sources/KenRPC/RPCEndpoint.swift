import Systemd

/// Where a server listens.
public enum RPCEndpoint: Sendable, Equatable {
    /// Bind a socket file at this path. A stale socket file (nothing accepting) is removed first;
    /// a live one, or a non-socket file, is an error. The file gets `socketMode` after bind.
    case path(String)
    /// Serve an already bound and listening `AF_UNIX` stream socket (socket activation). The
    /// server takes ownership of the descriptor.
    case listeningSocket(fileDescriptor: Int32)

    /// The socket passed by systemd (LISTEN_FDS/LISTEN_PID), picked by `FileDescriptorName=`
    /// when `name` is given, else the first one.
    ///
    /// - Throws: `RPCError.notActivated` when this process was not socket-activated, no socket
    ///   has that name, or the fd is not a listening Unix stream socket.
    public static func activated(name: String? = nil) throws(RPCError) -> RPCEndpoint {
        let sockets: [ActivatedSocket]
        do {
            sockets = try SocketActivation.listenedSockets()
        } catch {
            throw .notActivated(reason: error.description)
        }
        guard !sockets.isEmpty else {
            throw .notActivated(reason: "no sockets were passed (LISTEN_FDS unset or LISTEN_PID is not this process)")
        }
        let chosen: ActivatedSocket
        if let name {
            guard let match = sockets.first(where: { $0.name == name }) else {
                let names = sockets.map(\.name).joined(separator: ", ")
                throw .notActivated(reason: "no socket named \"\(name)\" among the passed sockets (\(names))")
            }
            chosen = match
        } else {
            chosen = sockets[0]
        }
        guard chosen.isListeningUnixStreamSocket else {
            throw .notActivated(reason: "fd \(chosen.fileDescriptor) (\(chosen.name)) is not a listening AF_UNIX stream socket; use ListenStream=/path in the .socket unit")
        }
        return .listeningSocket(fileDescriptor: chosen.fileDescriptor)
    }

    /// The activated socket when this process was socket-activated, otherwise `.path(path)`:
    /// what a daemon's `main` calls so it works both under systemd and from a shell.
    public static func activatedOr(path: String, name: String? = nil) throws(RPCError) -> RPCEndpoint {
        if ProcessEnvironment.value(of: "LISTEN_FDS") != nil {
            return try activated(name: name)
        }
        return .path(path)
    }
}
