import Evaluation
import XCTest

/// The evaluation set must be held apart from the example corpus: a prompt that (nearly)
/// repeats a corpus prompt would measure retrieval of a known answer, not synthesis.
final class DatasetDisjointnessTests: XCTestCase {
    /// Largest word-overlap (Jaccard, stop words removed) allowed with any corpus prompt.
    static let threshold = 0.4

    func testEveryPromptIsFarFromEveryCorpusPrompt() throws {
        let entries = try EvalDataset.load(path: EvalFixtures.datasetPath)
        let corpus = try PromptSimilarity.corpusPrompts(directory: EvalFixtures.corpusPath)
        XCTAssertGreaterThan(corpus.count, 100, "the corpus prompts were found")
        var worst = (score: 0.0, id: "", corpus: "")
        for entry in entries {
            for (file, prompt) in corpus {
                let score = PromptSimilarity.jaccard(entry.prompt, prompt)
                XCTAssertNotEqual(entry.prompt.lowercased(), prompt.lowercased(), "\(entry.id) repeats \(file)")
                XCTAssertLessThan(score, Self.threshold, "\(entry.id) is too close to \(file): \"\(prompt)\"")
                if score > worst.score { worst = (score, entry.id, prompt) }
            }
        }
        print("closest pair: \(worst.id) ~ \"\(worst.corpus)\" (\(String(format: "%.2f", worst.score)))")
    }

    func testTheDatasetIsLargeCompleteAndCoversTheAreas() throws {
        let entries = try EvalDataset.load(path: EvalFixtures.datasetPath)
        XCTAssertGreaterThanOrEqual(entries.count, 40)
        for entry in entries {
            XCTAssertFalse(entry.referenceProgram.isEmpty, entry.id)
            XCTAssertTrue(entry.hasBehaviourCheck, entry.id)
            XCTAssertFalse(entry.referenceProgram.contains("kprobe:"), "\(entry.id): this kernel has no kprobes")
        }
        let tags = Set(entries.flatMap(\.tags))
        for area in ["processes", "files", "network", "scheduling", "memory", "block", "security", "signals"] {
            XCTAssertTrue(tags.contains(area), "no prompt about \(area)")
        }
        // Prompts are distinct from each other too.
        for (i, a) in entries.enumerated() {
            for b in entries[(i + 1)...] {
                XCTAssertLessThan(PromptSimilarity.jaccard(a.prompt, b.prompt), 0.8, "\(a.id) ~ \(b.id)")
            }
        }
    }

    func testSimilarityMeasuresWordOverlap() {
        XCTAssertEqual(PromptSimilarity.jaccard("Trace file opens", "trace FILE opens!"), 1)
        XCTAssertEqual(PromptSimilarity.jaccard("count packets", "kill miners"), 0)
        XCTAssertEqual(PromptSimilarity.jaccard("count dropped packets", "count packets"), 2.0 / 3.0, accuracy: 1e-9)
    }

    func testBadDatasetLinesAreClearErrors() {
        XCTAssertThrowsError(try EvalDataset.parse("{\"id\": \"a\"}\n")) { error in
            XCTAssertTrue("\(error)".contains("line 1") || "\(error)".contains(":1:"), "\(error)")
        }
        XCTAssertThrowsError(try EvalDataset.parse("{\"id\":\"a\",\"prompt\":\"p\",\"expect\":\"([\"}")) { error in
            XCTAssertTrue("\(error)".contains("regular expression"), "\(error)")
        }
        XCTAssertThrowsError(try EvalDataset.parse("{\"id\":\"a\",\"prompt\":\"p\"}\n{\"id\":\"a\",\"prompt\":\"q\"}")) { error in
            XCTAssertEqual(error as? DatasetError, .duplicateID(path: "<dataset>", id: "a"))
        }
        XCTAssertThrowsError(try EvalDataset.parse("\n# only a comment\n"))
    }
}
