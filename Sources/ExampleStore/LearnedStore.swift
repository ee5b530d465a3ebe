import Foundation

/// Proven syntheses added back to the store, one JSON object per line in a file of the state
/// directory, apart from the shipped corpus (which is read-only and replaced on upgrade).
/// Every change rewrites the whole file to a temporary name and renames it over the old one, so a
/// crash leaves either the old or the new list, never half a line.
public struct LearnedStore: Sendable {
    public let file: URL

    public init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("learned-examples.jsonl")
    }

    /// The learned examples, oldest first; an absent file is an empty store. A corrupt line is
    /// an error (naming the line) rather than silently dropped: these are the user's data.
    public func load() throws(ExampleStoreError) -> [Example] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let text = try CorpusLoader.read(file)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var examples: [Example] = []
        for (number, line) in text.split(separator: "\n").enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                var example = try decoder.decode(Example.self, from: Data(line.utf8))
                example.origin = .learned
                examples.append(example)
            } catch {
                throw .malformedExample(path: "\(file.path):\(number + 1)", reason: "\(error)")
            }
        }
        return examples
    }

    /// Replaces the file's contents atomically.
    public func save(_ examples: [Example]) throws(ExampleStoreError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for example in examples {
            do { data.append(try encoder.encode(example)) } catch {
                throw .writeFailed(path: file.path, reason: "\(error)")
            }
            data.append(0x0A)
        }
        let directory = file.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try data.write(to: temporary)
            if rename(temporary.path, file.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw ExampleStoreError.writeFailed(path: file.path, reason: reason)
            }
        } catch let error as ExampleStoreError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(path: file.path, reason: error.localizedDescription)
        }
    }
}
