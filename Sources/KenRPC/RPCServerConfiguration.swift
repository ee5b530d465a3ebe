/// The limits a server enforces on every connection and every peer. Defaults suit a local daemon:
/// generous for real clients, small enough that a stuck or hostile client cannot hold resources
/// for long, and never so tight that one user can lock the others — or root — out.
public struct RPCServerConfiguration: Sendable {
    /// Largest request body accepted; a larger length header gets RESOURCE_EXHAUSTED and close.
    public var maxFrameSize: Int = WireFormat.defaultMaxFrameSize
    /// How long a frame may stay half-received (from its first byte) before DEADLINE_EXCEEDED and
    /// close — a client that stalls mid-frame does not pin a buffer forever.
    public var readTimeout: Duration = .seconds(10)
    /// How long a connection may sit with no call in flight and no partial frame before it is
    /// closed (after a DEADLINE_EXCEEDED notice with id 0), once it has sent something.
    public var idleTimeout: Duration = .seconds(300)
    /// How long a connection that has sent nothing at all since it was accepted is kept. Real
    /// clients send their first request at once; a connection opened only to hold a slot is
    /// closed after this short time instead of `idleTimeout`.
    public var unusedTimeout: Duration = .seconds(10)
    /// Connections served at once for ordinary peers; more are answered RESOURCE_EXHAUSTED (id 0)
    /// and closed.
    public var maxConnections: Int = 128
    /// Connections one uid may hold at once (privileged peers are not counted against it). As
    /// many as the calls one uid may have in flight, so a user's concurrent one-call clients
    /// (kenc in a loop, a fleet tool) queue in the agent rather than being refused; two users
    /// at the limit fill `maxConnections`, and `privilegedReserve` still serves root.
    public var maxConnectionsPerUID: Int = 64
    /// Connections kept beyond `maxConnections` for privileged peers, so root and administrators
    /// are served however many connections ordinary users hold.
    public var privilegedReserve: Int = 32
    /// Calls in flight on one connection; more are answered RESOURCE_EXHAUSTED (their id).
    public var maxCallsPerConnection: Int = 64
    /// Calls in flight for one uid over all its connections (privileged peers are not limited).
    public var maxCallsPerUID: Int = 64
    /// Whether a peer is exempt from the per-uid limits and may use `privilegedReserve`. Asked
    /// only when a limit would refuse the peer, so a lookup here costs nothing in normal use.
    /// Default: root.
    public var isPrivileged: @Sendable (PeerCredentials) -> Bool = { $0.uid == 0 }
    /// Mode of a socket file the server creates (`.path` endpoints), set with chmod after bind so
    /// the umask does not matter.
    public var socketMode: UInt32 = 0o660

    public init() {}
}
