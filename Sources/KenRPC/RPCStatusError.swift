import KenProto

/// What a handler throws to answer a call with a non-OK status. Any other error thrown by a
/// handler becomes `INTERNAL` with the error's description; `CancellationError` becomes
/// `CANCELLED`.
public struct RPCStatusError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Ken_V1_Code
    public var message: String
    public var detail: String
    public var hint: String

    public init(_ code: Ken_V1_Code, _ message: String, detail: String = "", hint: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    public var description: String { "\(code): \(message)" }
}
