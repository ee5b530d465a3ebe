import KenRPC

/// The end user a kend call runs for, set by `KendService` around the calls it forwards, read by
/// `AgentGate` so ken-agent authorizes and records that user rather than kend.
public enum EndUser {
    @TaskLocal public static var current: PeerCredentials?
}
