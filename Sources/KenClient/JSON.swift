import Foundation

/// One JSON value as kenc prints it. Every `--json` output of every subcommand is built as a
/// `JSONValue` and written by `render`, so all of them share one style:
///
/// - keys are snake_case;
/// - numbers are JSON numbers (never int64-as-string, as protobuf's JSON mapping writes them);
/// - enumeration values are lower-case words (`attached`, `violated`, `kernel_verifier`);
/// - a value that does not exist is `null`, and an empty one is `""`, `[]` or `0`: keys never
///   disappear because a value happens to be empty;
/// - keys are sorted and the text is indented by two spaces, so diffs and `jq` stay stable.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .integer(Int64(clamping: value)) }
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
    public static func ints<T: BinaryInteger>(_ values: [T]) -> JSONValue { .array(values.map { .integer(Int64(clamping: $0)) }) }

    /// `null` for nil, else the value.
    public static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    public static func optional<T: BinaryInteger>(_ value: T?) -> JSONValue { value.map { .integer(Int64(clamping: $0)) } ?? .null }

    /// The text: pretty, key-sorted, with a trailing newline.
    public func render() -> String {
        var out = ""
        write(to: &out, indent: "")
        return out + "\n"
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .double(let value): out += value.isFinite ? Self.number(value) : "null"
        case .string(let value): Self.quote(value, into: &out)
        case .array(let values):
            guard !values.isEmpty else { out += "[]"; return }
            let inner = indent + "  "
            out += "[\n"
            for (index, value) in values.enumerated() {
                out += inner
                value.write(to: &out, indent: inner)
                out += index == values.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            let inner = indent + "  "
            out += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                out += inner
                Self.quote(key, into: &out)
                out += ": "
                members[key]!.write(to: &out, indent: inner)
                out += index == keys.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }

    /// Whole numbers without a fraction, others in the shortest form that reads back exactly.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// A Codable value (kernel contracts, verification results) in kenc's style: keys turned
    /// to snake_case, nil optionals written as `null` (Codable would leave them out), and the
    /// string values under `enumKeys` (enumerations spelled as Swift cases or wire names,
    /// `bigEndian`, `VIOLATED`) turned to lower-case snake_case words.
    public init<T: Encodable>(encoding value: T, enumKeys: Set<String> = []) {
        let encoder = JSONValueEncoder()
        do {
            try value.encode(to: encoder)
            self = encoder.root.value.normalizingEnums(enumKeys)
        } catch {
            self = .object(["error": .string("could not encode: \(error)")])
        }
    }

    /// Lower-cases and snake_cases enumeration values under `keys`, at any depth.
    func normalizingEnums(_ keys: Set<String>) -> JSONValue {
        switch self {
        case .array(let values): return .array(values.map { $0.normalizingEnums(keys) })
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, value) in members {
                if keys.contains(key), case .string(let text) = value {
                    out[key] = .string(Self.enumWord(text))
                } else {
                    out[key] = value.normalizingEnums(keys)
                }
            }
            return .object(out)
        default: return self
        }
    }

    /// `bigEndian` → `big_endian`, `VIOLATED` → `violated`, `KERNEL_VERIFY` → `kernel_verify`.
    public static func enumWord(_ text: String) -> String {
        if text == text.uppercased() { return text.lowercased() }
        var out = ""
        for character in text {
            if character.isUppercase, !out.isEmpty, out.last != "_" { out += "_" }
            out += character.lowercased()
        }
        return out.replacingOccurrences(of: "-", with: "_")
    }

    /// The member `key` of an object (nil for other values), for tests and callers that adjust
    /// a document.
    public subscript(key: String) -> JSONValue? {
        get { if case .object(let members) = self { members[key] } else { nil } }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }
}
