import Digest
import Foundation
import KenProto
import SwiftProtobuf

/// Syntheses that passed every stage, with their verdict (proven or checked), keyed by what determines them: the prompt, the kernel release, the model
/// and the example corpus version.
///
/// A fleet pushing the same prompt to a thousand hosts of one kernel asks the LLM once per
/// distinct key, not once per host: a host that finds the key here still runs every check
/// (front end, verifier, kernel) on the cached program and judges its verdict afresh, so a stale
/// or tampered entry can cost a re-synthesis but never an unchecked attach or a false "proven". Entries are one JSON file each, written to a
/// temporary name and renamed, so a crash never leaves half an entry.
public struct SynthesisCache: Sendable {
    public struct Key: Sendable, Hashable {
        public var prompt: String
        public var kernelRelease: String
        public var model: String
        public var corpusVersion: String
        public init(prompt: String, kernelRelease: String, model: String, corpusVersion: String) {
            self.prompt = prompt
            self.kernelRelease = kernelRelease
            self.model = model
            self.corpusVersion = corpusVersion
        }

        /// Prompts that differ only in spacing or case are the same request.
        public var digest: String {
            let normalised = prompt.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            return SHA256.hex([normalised, kernelRelease, model, corpusVersion].joined(separator: "\u{0}"))
        }
    }

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func lookup(_ key: Key) -> Ken_V1_SynthesisReport? {
        guard let data = try? Data(contentsOf: file(for: key)),
              let report = try? Ken_V1_SynthesisReport(jsonUTF8Data: data),
              report.passed, report.verdict != .unspecified, !report.program.isEmpty
        else { return nil }
        return report
    }

    /// Stores a report that passed every stage (its verdict included); anything else is not
    /// worth reusing.
    public func store(_ report: Ken_V1_SynthesisReport, for key: Key) throws {
        guard report.passed else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = try report.jsonUTF8Data()
        let target = file(for: key)
        let temporary = directory.appendingPathComponent(".\(key.digest).\(getpid()).tmp")
        try data.write(to: temporary)
        if rename(temporary.path, target.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }

    public func remove(_ key: Key) {
        try? FileManager.default.removeItem(at: file(for: key))
    }

    private func file(for key: Key) -> URL {
        directory.appendingPathComponent("\(key.digest).json")
    }
}
