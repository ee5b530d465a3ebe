import ExampleStore
import Foundation
import XCTest

/// Paths shared by the tests: the shipped corpus (found from this file's location, so the tests
/// run from any checkout) and throw-away state directories.
enum Fixtures {
    static func corpusDirectory() throws -> URL {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        guard let directory = ExampleStore.locateCorpus(environment: [:], searchingUpFrom: here) else {
            throw XCTSkip("corpus/examples not found above \(here.path)")
        }
        return directory
    }

    static func corpus() throws -> [Example] {
        try CorpusLoader.loadDirectory(corpusDirectory())
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ken-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
