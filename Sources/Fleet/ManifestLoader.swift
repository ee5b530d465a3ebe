import Foundation
import TOML

/// Reads manifests from a file or from every `*.toml` file of a directory (sorted by name, so
/// every host reads them in the same order).
public enum ManifestLoader {
    public static let defaultDirectory = "/etc/ken/extensions.d"

    public static func load(path: String) throws(ManifestError) -> [Manifest] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file or directory")
        }
        let files: [String]
        if isDirectory.boolValue {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw .unreadable(path: path, reason: "\(error.localizedDescription)")
            }
            files = names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted()
                .map { (path as NSString).appendingPathComponent($0) }
        } else {
            files = [path]
        }
        var manifests: [Manifest] = []
        var seen: [String: String] = [:]
        for file in files {
            let manifest = try loadFile(file)
            if let first = seen[manifest.name] {
                throw .duplicateName(manifest.name, first: first, second: file)
            }
            seen[manifest.name] = file
            manifests.append(manifest)
        }
        return manifests
    }

    /// The newest modification time among `path` and the manifests in it: a watcher's cheap
    /// "did anything change" test.
    public static func fingerprint(path: String) -> String {
        var parts: [String] = []
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        parts.append("\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
            for name in names.sorted() where name.hasSuffix(".toml") {
                let file = (path as NSString).appendingPathComponent(name)
                let info = try? FileManager.default.attributesOfItem(atPath: file)
                parts.append("\(name):\((info?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0):\((info?[.size] as? Int) ?? 0)")
            }
        }
        return parts.joined(separator: "|")
    }

    static let knownKeys: Set<String> = ["name", "prompt", "program", "program_file", "program_sha256", "max_attempts", "on_failure", "require_proof"]

    public static func loadFile(_ file: String) throws(ManifestError) -> Manifest {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw .unreadable(path: file, reason: error.localizedDescription)
        }
        let document: [String: TOMLValue]
        do {
            document = try TOMLParser.parse(text)
        } catch {
            throw .syntax(path: file, line: error.line, message: error.message)
        }
        for key in document.keys.sorted() where !knownKeys.contains(key) {
            throw .invalid(path: file, message: "unknown key \"\(key)\" (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws(ManifestError) -> String? {
            guard let value = document[key] else { return nil }
            guard case let .string(text) = value else {
                throw .invalid(path: file, message: "\(key) must be a string, not \(value.typeName)")
            }
            return text
        }
        guard let name = try string("name") else { throw .invalid(path: file, message: "missing key \"name\"") }
        guard let prompt = try string("prompt") else { throw .invalid(path: file, message: "missing key \"prompt\"") }
        var program = try string("program")
        if let programFile = try string("program_file") {
            guard program == nil else {
                throw .invalid(path: file, message: "give either program or program_file, not both")
            }
            let resolved = programFile.hasPrefix("/") ? programFile
                : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(programFile)
            do {
                program = try String(contentsOfFile: resolved, encoding: .utf8)
            } catch {
                throw .invalid(path: file, message: "program_file \(resolved): \(error.localizedDescription)")
            }
        }
        var maxAttempts = 3
        if let value = document["max_attempts"] {
            guard case let .integer(number) = value, (1...20).contains(number) else {
                throw .invalid(path: file, message: "max_attempts must be an integer between 1 and 20")
            }
            maxAttempts = Int(number)
        }
        var onFailure = Manifest.OnFailure.keep
        if let text = try string("on_failure") {
            guard let parsed = Manifest.OnFailure(rawValue: text) else {
                throw .invalid(path: file, message: "on_failure must be \"keep\" or \"detach\", not \"\(text.prefix(32))\"")
            }
            onFailure = parsed
        }
        var requireProof = false
        if let value = document["require_proof"] {
            guard case let .boolean(flag) = value else {
                throw .invalid(path: file, message: "require_proof must be true or false")
            }
            requireProof = flag
        }
        let manifest = Manifest(name: name, prompt: prompt, program: program, programSHA256: try string("program_sha256"),
                                maxAttempts: maxAttempts, onFailure: onFailure, sourcePath: file, requireProof: requireProof)
        try manifest.validate()
        return manifest
    }
}
