import KenProto
import SwiftProtobuf

/// A request envelope: the top-level message a client frames and sends.
///
/// The server needs only these facts about a request to route it; everything else is the
/// handler's business. ken-agent's and kend's envelopes conform below.
public protocol RPCRequestEnvelope: SwiftProtobuf.Message, Sendable {
    /// The client-chosen call id, echoed in every response. 0 is reserved for connection errors.
    var id: UInt64 { get set }
    /// False when the `call` oneof is unset — missing, or a call this build does not know.
    var hasCall: Bool { get }
    /// When this request is a `CancelRequest`: the id of the call to end.
    var cancelledRequestID: UInt64? { get }
    /// A short name of the call for logs ("status", "logs", …).
    var callName: String { get }
    /// A cancel request for `requestID`, sent by clients when a stream is abandoned.
    static func cancel(id: UInt64, requestID: UInt64) -> Self
    /// The daemon that serves this protocol, named in client error messages ("ken-agent").
    static var serviceName: String { get }
}

/// A response envelope: what a server frames and sends back.
public protocol RPCResponseEnvelope: SwiftProtobuf.Message, Sendable {
    var id: UInt64 { get set }
    /// True on every response of a stream but the last.
    var more: Bool { get set }
    /// The status code carried (OK when the status is unset).
    var code: Ken_V1_Code { get }
    /// The status message carried (empty when OK).
    var statusMessage: String { get }
    /// A response carrying only a status: for errors, and for acknowledgements such as the
    /// answer to a cancel request (`code == .ok`).
    static func failure(id: UInt64, code: Ken_V1_Code, message: String, detail: String, hint: String) -> Self
}

extension RPCResponseEnvelope {
    public static func failure(id: UInt64, code: Ken_V1_Code, message: String) -> Self {
        failure(id: id, code: code, message: message, detail: "", hint: "")
    }
}

extension Ken_V1_Status {
    init(code: Ken_V1_Code, message: String, detail: String, hint: String) {
        self.init()
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
    }
}

/// A request envelope of Ken's shape: an `id` and a `call` oneof whose `cancel` case carries a
/// `CancelRequest`. ken-agent's and kend's envelopes both have it, so the envelope behaviour is
/// written once here; each service supplies only its name and the names of its calls.
public protocol ServiceRequestEnvelope: RPCRequestEnvelope {
    associatedtype Call: Sendable
    var call: Call? { get }
    var cancel: Ken_V1_CancelRequest { get set }
    /// The log name of a call ("status", "attach", …); exactly the cancel case is named "cancel".
    static func name(of call: Call) -> String
}

extension ServiceRequestEnvelope {
    public var hasCall: Bool { call != nil }

    public var cancelledRequestID: UInt64? {
        guard let call, Self.name(of: call) == "cancel" else { return nil }
        return cancel.requestID
    }

    public var callName: String { call.map(Self.name(of:)) ?? "(none)" }

    public static func cancel(id: UInt64, requestID: UInt64) -> Self {
        var request = Self()
        request.id = id
        request.cancel = Ken_V1_CancelRequest.with { $0.requestID = requestID }
        return request
    }
}

/// A response envelope of Ken's shape: an `id`, `more` and a `Status`.
public protocol ServiceResponseEnvelope: RPCResponseEnvelope {
    var status: Ken_V1_Status { get set }
}

extension ServiceResponseEnvelope {
    public var code: Ken_V1_Code { status.code }
    public var statusMessage: String { status.message }

    public static func failure(id: UInt64, code: Ken_V1_Code, message: String, detail: String, hint: String) -> Self {
        var response = Self()
        response.id = id
        response.status = Ken_V1_Status(code: code, message: message, detail: detail, hint: hint)
        return response
    }
}

extension Ken_V1_AgentRequest: ServiceRequestEnvelope {
    public static var serviceName: String { "ken-agent" }

    public static func name(of call: OneOf_Call) -> String {
        switch call {
        case .status: return "status"
        case .attach: return "attach"
        case .verifyOnly: return "verify_only"
        case .list: return "list"
        case .get: return "get"
        case .detach: return "detach"
        case .logs: return "logs"
        case .cancel: return "cancel"
        }
    }
}

extension Ken_V1_AgentResponse: ServiceResponseEnvelope {}

extension Ken_V1_KendRequest: ServiceRequestEnvelope {
    public static var serviceName: String { "kend" }

    public static func name(of call: OneOf_Call) -> String {
        switch call {
        case .status: return "status"
        case .synthesize: return "synthesize"
        case .verify: return "verify"
        case .apply: return "apply"
        case .examples: return "examples"
        case .cancel: return "cancel"
        }
    }
}

extension Ken_V1_KendResponse: ServiceResponseEnvelope {}
