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
///
/// [access]                              # see KendAccess
/// users = ["alice"]                     # may synthesize and verify (default: root, kend's user and group)
/// groups = ["ken"]
/// admin_users = ["root"]                # may also apply/prune and add/remove examples
/// admin_groups = ["ken-admin"]
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
    public var access = KendAccess()

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
        do {
            return try decode(TOMLTable(document))
        } catch {
            throw .invalid(path: path, message: error.message)
        }
    }

    /// The settings from the parsed file, through the shared strict reader (`TOMLTable`).
    private static func decode(_ document: TOMLTable) throws(TOMLDecodingError) -> KendConfigFile {
        var config = KendConfigFile()
        for table in try document.tables(expected: "llm, synthesis, fleet, access") {
            switch table.name {
            case "llm":
                try table.only(["url", "model", "api_key_file", "embedding_model", "temperature", "max_tokens",
                                "connect_timeout", "timeout", "max_retries"])
                guard let url = try table.string("url", nonEmpty: true) else {
                    throw TOMLDecodingError("[llm] needs url (an OpenAI-compatible base URL ending in /v1)")
                }
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw TOMLDecodingError("llm.url must start with http:// or https://")
                }
                guard let model = try table.string("model", nonEmpty: true) else { throw TOMLDecodingError("[llm] needs model") }
                var llm = LLMConfiguration(baseURL: url, model: model)
                if let file = try table.string("api_key_file", nonEmpty: true) { llm.apiKey = .file(file) }
                llm.embeddingModel = try table.string("embedding_model", nonEmpty: true)
                if let value = try table.number("temperature", in: 0...2) { llm.temperature = value }
                if let value = try table.number("max_tokens", in: 1...1_000_000) { llm.maxTokens = Int(value) }
                if let value = try table.number("connect_timeout", in: 0.1...600) { llm.connectTimeout = value }
                if let value = try table.number("timeout", in: 0.1...3600) { llm.totalTimeout = value }
                if let value = try table.number("max_retries", in: 0...20) { llm.maxRetries = Int(value) }
                config.llm = llm
            case "synthesis":
                try table.only(["max_attempts", "library_threshold", "require_proof"])
                config.requireProof = try table.bool("require_proof")
                config.maxAttempts = try table.number("max_attempts", in: 1...20).map { Int($0) }
                config.libraryThreshold = try table.number("library_threshold", in: 0...1)
            case "fleet":
                try table.only(["manifests", "watch_interval", "prune"])
                config.manifests = try table.string("manifests", nonEmpty: true)
                config.watchInterval = try table.number("watch_interval", in: 0.5...86_400)
                config.prune = try table.bool("prune")
            case "access":
                try table.only(["users", "groups", "admin_users", "admin_groups"])
                let users = try table.strings("users", allowIDs: true), groups = try table.strings("groups", allowIDs: true)
                if users != nil || groups != nil {
                    config.access.users = KendAccess.Members(users: users ?? [], groups: groups ?? [])
                }
                if let adminUsers = try table.strings("admin_users", allowIDs: true) { config.access.admins.users = adminUsers }
                if let adminGroups = try table.strings("admin_groups", allowIDs: true) { config.access.admins.groups = adminGroups }
            default:
                throw TOMLDecodingError("unknown table [\(table.name)] (known: llm, synthesis, fleet, access)")
            }
        }
        return config
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
