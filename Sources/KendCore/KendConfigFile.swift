import Foundation
import LLM
import TOML

/// kend's settings file (`/etc/ken/kend.toml`), every key optional:
///
/// ```toml
/// [llm]
/// url = "http://127.0.0.1:8080/v1"     # OpenAI-compatible base URL ending in /v1
/// model = "qwen2.5-coder-32b"
/// api_key_file = "/etc/ken/llm-api-key" # or the systemd credential llm-api-key
/// embedding_model = "nomic-embed-text"
/// temperature = 0.2
/// max_tokens = 2048
/// connect_timeout = 5                   # seconds
/// timeout = 120                         # seconds, the whole call with retries
/// max_retries = 3
///
/// [synthesis]
/// max_attempts = 3
/// library_threshold = 0.21              # offline library: least word similarity among examples that do the task
/// require_proof = false                 # true: attach only PROVEN programs, never merely CHECKED ones
///
/// [fleet]
/// manifests = "/etc/ken/extensions.d"   # watch and apply on change
/// watch_interval = 5                    # seconds
/// prune = true
/// ```
/// The environment (KEN_LLM_URL, KEN_LLM_MODEL, KEN_LLM_API_KEY_FILE, …) overrides the file's
/// [llm] table as a whole when KEN_LLM_URL is set; command-line options override the rest.
public struct KendConfigFile: Sendable, Equatable {
    public var llm: LLMConfiguration?
    public var maxAttempts: Int?
    public var libraryThreshold: Double?
    public var requireProof: Bool?
    public var manifests: String?
    public var watchInterval: Double?
    public var prune: Bool?

    public init() {}

    /// A missing file is an empty configuration; an unreadable or invalid one is an error that
    /// names the file (kend refuses to start rather than run with settings it did not read).
    public static func load(path: String) throws(KendConfigError) -> KendConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { return KendConfigFile() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .invalid(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(KendConfigError) -> KendConfigFile {
        let document: [String: TOMLValue]
        do {
            document = try TOMLParser.parse(text)
        } catch {
            throw .invalid(path: "\(path):\(error.line)", message: error.message)
        }
        var config = KendConfigFile()
        for (section, value) in document.sorted(by: { $0.key < $1.key }) {
            guard case let .table(table) = value else {
                throw .invalid(path: path, message: "top-level key \(section) must be a [table] (llm, synthesis, fleet)")
            }
            let reader = Reader(table: table, section: section, path: path)
            switch section {
            case "llm":
                try reader.only(["url", "model", "api_key_file", "embedding_model", "temperature", "max_tokens",
                                 "connect_timeout", "timeout", "max_retries"])
                guard let url = try reader.string("url") else {
                    throw .invalid(path: path, message: "[llm] needs url (an OpenAI-compatible base URL ending in /v1)")
                }
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw .invalid(path: path, message: "llm.url must start with http:// or https://")
                }
                guard let model = try reader.string("model") else {
                    throw .invalid(path: path, message: "[llm] needs model")
                }
                var llm = LLMConfiguration(baseURL: url, model: model)
                if let file = try reader.string("api_key_file") { llm.apiKey = .file(file) }
                llm.embeddingModel = try reader.string("embedding_model")
                if let value = try reader.number("temperature", in: 0...2) { llm.temperature = value }
                if let value = try reader.number("max_tokens", in: 1...1_000_000) { llm.maxTokens = Int(value) }
                if let value = try reader.number("connect_timeout", in: 0.1...600) { llm.connectTimeout = value }
                if let value = try reader.number("timeout", in: 0.1...3600) { llm.totalTimeout = value }
                if let value = try reader.number("max_retries", in: 0...20) { llm.maxRetries = Int(value) }
                config.llm = llm
            case "synthesis":
                try reader.only(["max_attempts", "library_threshold", "require_proof"])
                config.requireProof = try reader.bool("require_proof")
                config.maxAttempts = try reader.number("max_attempts", in: 1...20).map { Int($0) }
                config.libraryThreshold = try reader.number("library_threshold", in: 0...1)
            case "fleet":
                try reader.only(["manifests", "watch_interval", "prune"])
                config.manifests = try reader.string("manifests")
                config.watchInterval = try reader.number("watch_interval", in: 0.5...86_400)
                config.prune = try reader.bool("prune")
            default:
                throw .invalid(path: path, message: "unknown table [\(section)] (known: llm, synthesis, fleet)")
            }
        }
        return config
    }

    private struct Reader {
        var table: [String: TOMLValue]
        var section: String
        var path: String

        func only(_ keys: Set<String>) throws(KendConfigError) {
            for key in table.keys.sorted() where !keys.contains(key) {
                throw .invalid(path: path, message: "unknown key \(section).\(key) (known: \(keys.sorted().joined(separator: ", ")))")
            }
        }

        func string(_ key: String) throws(KendConfigError) -> String? {
            guard let value = table[key] else { return nil }
            guard case let .string(text) = value, !text.isEmpty else {
                throw .invalid(path: path, message: "\(section).\(key) must be a non-empty string")
            }
            return text
        }

        func number(_ key: String, in range: ClosedRange<Double>) throws(KendConfigError) -> Double? {
            guard let value = table[key] else { return nil }
            let number: Double
            switch value {
            case .integer(let integer): number = Double(integer)
            case .float(let float): number = float
            default: throw .invalid(path: path, message: "\(section).\(key) must be a number")
            }
            guard range.contains(number) else {
                throw .invalid(path: path, message: "\(section).\(key) must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }

        func bool(_ key: String) throws(KendConfigError) -> Bool? {
            guard let value = table[key] else { return nil }
            guard case let .boolean(flag) = value else {
                throw .invalid(path: path, message: "\(section).\(key) must be true or false")
            }
            return flag
        }
    }
}

public enum KendConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(path: String, message: String)

    public var description: String {
        switch self {
        case let .invalid(path, message): "\(path): \(message)"
        }
    }
}
