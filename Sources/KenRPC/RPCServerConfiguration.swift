/// The limits a server enforces on every connection. Defaults suit a local daemon: generous for
/// real clients, small enough that a stuck or hostile client cannot hold resources for long.
public struct RPCServerConfiguration: Sendable, Equatable {
    /// Largest request body accepted; a larger length header gets RESOURCE_EXHAUSTED and close.
    public var maxFrameSize: Int = WireFormat.defaultMaxFrameSize
    /// How long a frame may stay half-received (from its first byte) before DEADLINE_EXCEEDED and
    /// close — a client that stalls mid-frame does not pin a buffer forever.
    public var readTimeout: Duration = .seconds(10)
    /// How long a connection may sit with no call in flight and no partial frame before it is
    /// closed (after a DEADLINE_EXCEEDED notice with id 0).
    public var idleTimeout: Duration = .seconds(300)
    /// Connections served at once; more are answered RESOURCE_EXHAUSTED (id 0) and closed.
    public var maxConnections: Int = 128
    /// Calls in flight on one connection; more are answered RESOURCE_EXHAUSTED (their id).
    public var maxCallsPerConnection: Int = 64
    /// Mode of a socket file the server creates (`.path` endpoints), set with chmod after bind so
    /// the umask does not matter.
    public var socketMode: UInt32 = 0o660

    public init() {}
}
