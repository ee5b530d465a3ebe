/// Who is on the other end of a connection, as the kernel reports it (`SO_PEERCRED`), read once
/// when the connection is accepted. These are the credentials of the process that called
/// connect(2); they cannot be forged by the client, which is why ken-agent authorizes on them.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    public var description: String { "uid=\(uid) gid=\(gid) pid=\(pid)" }
}
