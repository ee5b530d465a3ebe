import ExampleStore
import Foundation
import XCTest

final class RetrievalTests: XCTestCase {
    private func corpusOnlyStore() throws -> ExampleStore {
        try ExampleStore(.init(corpusDirectory: try Fixtures.corpusDirectory(), toolDirectories: []))
    }

    private func topIDs(_ store: ExampleStore, _ query: String, k: Int = 3) async -> [String] {
        await store.search(query, k: k).results.map(\.example.id)
    }

    func testObviousQueriesFindTheirExamples() async throws {
        let store = try corpusOnlyStore()
        let first = { (query: String) async -> String? in await self.topIDs(store, query, k: 1).first }
        let hist = await first("histogram of disk I/O latency")
        XCTAssertEqual(hist, "block-latency-hist")
        let retransmits = await first("tcp retransmissions")
        XCTAssertEqual(retransmits, "net-tcp-retransmits")
        let ptraceKill = await topIDs(store, "kill a process that calls ptrace")
        XCTAssertTrue(ptraceKill.contains("act-kill-ptrace"), "\(ptraceKill)")
        let opens = await topIDs(store, "which files are opened by processes")
        XCTAssertTrue(opens.contains("file-open-print"), "\(opens)")
        let deletes = await topIDs(store, "who deleted files")
        XCTAssertTrue(deletes.contains("file-deletes"), "\(deletes)")
        let outcome = await store.search("tcp retransmissions", k: 2)
        XCTAssertEqual(outcome.method, .bm25)
        XCTAssertEqual(outcome.results.count, 2)
        XCTAssertGreaterThanOrEqual(outcome.results[0].score, outcome.results[1].score)
    }

    func testProbeNamesAreSplitIntoParts() async throws {
        let store = try corpusOnlyStore()
        let byProbe = await topIDs(store, "sys_enter_unlinkat", k: 2)
        XCTAssertTrue(byProbe.contains("file-deletes"), "\(byProbe)")
        let byPart = await topIDs(store, "mark_victim", k: 3)
        XCTAssertTrue(byPart.contains("proc-oom-victim"), "\(byPart)")
    }

    /// Every corpus example has an alternate phrasing. Index only the main phrasings and ask with
    /// the alternates: how often is the right example among the first three?
    func testAlternatePhrasingsRetrieveTheirExample() throws {
        let corpus = try Fixtures.corpus()
        let mainOnly = corpus.map { example -> Example in
            var copy = example
            copy.prompts = [example.prompt]
            return copy
        }
        let index = BM25Index(mainOnly)
        var asked = 0
        var top1 = 0
        var top3 = 0
        for example in corpus where example.prompts.count > 1 {
            asked += 1
            let ids = index.search(example.prompts[1], k: 3).map(\.example.id)
            if ids.first == example.id { top1 += 1 }
            if ids.contains(example.id) { top3 += 1 }
        }
        let recall1 = Double(top1) / Double(max(1, asked))
        let recall3 = Double(top3) / Double(max(1, asked))
        print("alternate-phrasing retrieval over \(asked) examples: top-1 \(recall1), top-3 \(recall3)")
        XCTAssertGreaterThanOrEqual(asked, 60)
        XCTAssertGreaterThanOrEqual(recall3, 0.6)
    }

    func testBestMatchSimilarityIsNormalised() async throws {
        let store = try corpusOnlyStore()
        let exact = await store.bestMatch("Alert when any process opens /etc/shadow")
        XCTAssertEqual(exact?.example.id, "file-shadow-alert")
        XCTAssertGreaterThan(exact?.similarity ?? 0, 0.99)
        XCTAssertLessThanOrEqual(exact?.similarity ?? 2, 1.0)

        let paraphrase = await store.bestMatch("notify me if something opens the /etc/shadow file")
        XCTAssertEqual(paraphrase?.example.id, "file-shadow-alert")
        let paraphraseSimilarity = paraphrase?.similarity ?? 0
        XCTAssertGreaterThan(paraphraseSimilarity, 0.3)
        XCTAssertLessThan(paraphraseSimilarity, 0.99)

        let unrelated = await store.bestMatch("bake a chocolate cake for my grandmother")
        XCTAssertLessThan(unrelated?.similarity ?? 0, 0.2)
        let empty = await store.bestMatch("")
        XCTAssertNil(empty)
    }

    func testInstalledToolsAreIndexedByTheirHeaderComment() async throws {
        let tools = CorpusLoader.installedTools()
        guard !tools.isEmpty else { throw XCTSkip("no bpftrace tools installed in /usr/sbin or /usr/share/bpftrace/tools") }
        for tool in tools {
            XCTAssertFalse(tool.prompt.isEmpty, tool.id)
            XCTAssertFalse(tool.prompt.lowercased().contains("for linux"), tool.id)
            XCTAssertFalse(tool.probes.isEmpty, tool.id)
            XCTAssertEqual(tool.origin, .installedTool)
        }
        if let opensnoop = tools.first(where: { $0.id == "tool-opensnoop" }) {
            XCTAssertTrue(opensnoop.prompt.lowercased().contains("open"), opensnoop.prompt)
        }
        let store = try ExampleStore(.init(corpusDirectory: try Fixtures.corpusDirectory()))
        let all = await store.all()
        XCTAssertEqual(all.count, try Fixtures.corpus().count + tools.count)
    }

    /// Measures search latency over the corpus plus installed tools (the default store).
    func testRetrievalLatency() async throws {
        let store = try ExampleStore(.init(corpusDirectory: try Fixtures.corpusDirectory()))
        let size = await store.all().count
        let queries = ["count page faults per process", "tcp connection latency histogram",
                       "kill any process named miner", "which files are written the most",
                       "trace sys_enter_execve with arguments"]
        var samples: [Duration] = []
        let clock = ContinuousClock()
        for round in 0..<40 {
            let query = queries[round % queries.count]
            let start = clock.now
            _ = await store.search(query, k: 4)
            samples.append(clock.now - start)
        }
        var matchSamples: [Duration] = []
        for round in 0..<40 {
            let start = clock.now
            _ = await store.bestMatch(queries[round % queries.count])
            matchSamples.append(clock.now - start)
        }
        samples.sort()
        matchSamples.sort()
        print("retrieval over \(size) examples: search(k=4) median \(samples[samples.count / 2]), max \(samples.last ?? .zero); bestMatch median \(matchSamples[matchSamples.count / 2])")
        XCTAssertLessThan(samples[samples.count / 2], .milliseconds(20))
    }
}
