import ExampleStore
import Foundation
import XCTest

final class LearningTests: XCTestCase {
    private let program = "tracepoint:syscalls:sys_enter_sync { @syncs[comm] = count(); }\n"

    func testLearnedExamplesPersistAndAreSearchable() async throws {
        let state = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let configuration = ExampleStore.Configuration(corpusDirectory: try Fixtures.corpusDirectory(),
                                                       toolDirectories: [], stateDirectory: state)
        let store = try ExampleStore(configuration)
        let added = try await store.addLearned(prompt: "count sync() calls by zebrafish programs", program: program,
                                               tags: ["files"])
        XCTAssertEqual(added.origin, .learned)
        XCTAssertEqual(added.probes, ["tracepoint:syscalls:sys_enter_sync"])
        XCTAssertFalse(added.needsUnsafe)
        XCTAssertTrue(added.id.hasPrefix("learned-"))
        let again = try await store.addLearned(prompt: "count sync() calls by zebrafish programs", program: program)
        XCTAssertEqual(again.id, added.id, "the same pair is not stored twice")
        let learnedCount = await store.learned().count
        XCTAssertEqual(learnedCount, 1)

        let hit = await store.search("zebrafish sync", k: 1).results.first
        XCTAssertEqual(hit?.example.id, added.id)

        let file = state.appendingPathComponent("learned-examples.jsonl")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].contains("\"needs_unsafe\":false"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: state.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])

        // A new store (kend restarted) sees it.
        let reopened = try ExampleStore(configuration)
        let reloaded = await reopened.learned()
        XCTAssertEqual(reloaded.map(\.id), [added.id])
        XCTAssertEqual(reloaded.first?.program, program)

        let removed = try await reopened.remove(id: added.id)
        XCTAssertEqual(removed.id, added.id)
        let afterRemove = await reopened.learned()
        XCTAssertEqual(afterRemove.count, 0)
        let emptyAgain = try ExampleStore(configuration)
        let stillThere = await emptyAgain.example(id: added.id)
        XCTAssertNil(stillThere)
    }

    func testUnsafeProgramsAreMarkedWhenLearned() async throws {
        let store = try ExampleStore(.init(corpusDirectory: nil, toolDirectories: []))
        let killer = try await store.addLearned(
            prompt: "kill programs named pest", program: "tracepoint:sched:sched_process_exec /comm == \"pest\"/ { signal(\"SIGKILL\"); }")
        XCTAssertTrue(killer.needsUnsafe)
        XCTAssertEqual(killer.probes, ["tracepoint:sched:sched_process_exec"])
    }

    func testOnlyLearnedExamplesCanBeRemoved() async throws {
        let store = try ExampleStore(.init(corpusDirectory: try Fixtures.corpusDirectory(), toolDirectories: []))
        do {
            _ = try await store.remove(id: "file-deletes")
            XCTFail("removed a shipped example")
        } catch {
            XCTAssertEqual(error, .notRemovable(id: "file-deletes", origin: .corpus))
        }
        do {
            _ = try await store.remove(id: "learned-0000")
            XCTFail("removed a missing example")
        } catch {
            XCTAssertEqual(error, .notFound(id: "learned-0000"))
        }
    }

    func testInvalidAdditionsAreRefused() async throws {
        let store = try ExampleStore(.init(corpusDirectory: nil, toolDirectories: []))
        await assertThrows { try await store.addLearned(prompt: "  ", program: self.program) }
        await assertThrows { try await store.addLearned(prompt: "p", program: "\n") }
        await assertThrows {
            try await store.addLearned(prompt: "p", program: String(repeating: "x", count: ExampleStore.maxProgramBytes + 1))
        }
    }

    func testCorruptLearnedFileIsAnErrorNamingTheLine() throws {
        let state = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let good = #"{"id":"learned-1","prompts":["p"],"program":"BEGIN { exit(); }\n","tags":[],"probes":["BEGIN"],"needs_unsafe":false,"origin":"learned"}"#
        try (good + "\n{not json\n").write(to: state.appendingPathComponent("learned-examples.jsonl"),
                                          atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExampleStore(.init(corpusDirectory: nil, toolDirectories: [], stateDirectory: state))) {
            error in
            XCTAssertTrue("\(error)".contains("learned-examples.jsonl:2"), "\(error)")
        }
    }

    private func assertThrows(_ body: () async throws -> Example, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("expected an error", file: file, line: line)
        } catch {}
    }
}
