import Foundation

/// Where the API key comes from. Never the command line (visible to every user through
/// /proc/<pid>/cmdline) and never an environment variable (inherited by children, dumped in
/// crash reports): a file readable only by kend's user, or a systemd credential.
public enum APIKeySource: Sendable, Equatable {
    /// No key: for local servers (llama.cpp, vLLM, Ollama) that need none.
    case none
    /// A file holding the key; surrounding whitespace and newlines are ignored.
    case file(String)
    /// A systemd credential: the file `$CREDENTIALS_DIRECTORY/<name>` (LoadCredential=).
    case credential(String)

    /// Reads the key. `environment` is injectable so tests need not mutate the process env.
    public func load(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(LLMError) -> String? {
        switch self {
        case .none:
            return nil
        case .file(let path):
            return try Self.read(path)
        case .credential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw .apiKeyUnreadable(path: "$CREDENTIALS_DIRECTORY/\(name)",
                                        reason: "CREDENTIALS_DIRECTORY is not set (no systemd LoadCredential=)")
            }
            guard !name.contains("/"), !name.isEmpty else {
                throw .apiKeyUnreadable(path: name, reason: "a credential name cannot contain '/'")
            }
            return try Self.read(directory + "/" + name)
        }
    }

    private static func read(_ path: String) throws(LLMError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .apiKeyUnreadable(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .apiKeyUnreadable(path: path, reason: "not UTF-8 text")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw .apiKeyUnreadable(path: path, reason: "the file is empty") }
        guard !key.contains(where: { $0.isNewline || $0 == "\r" }) else {
            throw .apiKeyUnreadable(path: path, reason: "the key spans several lines")
        }
        return key
    }
}
