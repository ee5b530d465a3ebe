import ExampleStore
import Foundation
import XCTest

/// The offline library answers only with an example that does the asked task (issue #13 item 3).
final class LibraryTaskMatchTests: XCTestCase {
    /// The shipped corpus alone: what the threshold is calibrated on, the same on every machine.
    static let store: ExampleStore? = try? ExampleStore(ExampleStore.Configuration(
        corpusDirectory: LibraryEvaluationSet.repositoryRoot.appendingPathComponent("corpus/examples"), toolDirectories: []))
    /// As kend loads it: the corpus and the bpftrace tools installed on this machine.
    static let storeAsKend: ExampleStore? = try? ExampleStore(ExampleStore.Configuration(
        corpusDirectory: LibraryEvaluationSet.repositoryRoot.appendingPathComponent("corpus/examples")))

    func corpus() throws -> ExampleStore {
        try XCTUnwrap(Self.store, "the shipped corpus loads")
    }

    /// Counts of outcomes at a threshold.
    struct Tally: CustomStringConvertible {
        var right = 0, wrong = 0, declined = 0, wronglyDeclined = 0
        /// Entries declined although an example does the task.
        var missed: [String] = []
        var answered: Int { right + wrong }
        var total: Int { right + wrong + declined + wronglyDeclined }
        var description: String {
            "\(total) prompts: answered \(answered) (right \(right), different task \(wrong)), declined \(declined + wronglyDeclined) (\(wronglyDeclined) of them had an example\(missed.isEmpty ? "" : ": " + missed.joined(separator: ", ")))"
        }
        mutating func add(_ outcome: LibraryEvaluationSet.Outcome) {
            switch outcome {
            case .right: right += 1
            case .wrong: wrong += 1
            case .declined: declined += 1
            case .wronglyDeclined: wronglyDeclined += 1
            }
        }
    }

    /// Every entry's decision with no similarity floor; a threshold then only drops candidates.
    func decisions(_ entries: [LibraryEvaluationSet.Entry], store: ExampleStore) async -> [LibraryDecision] {
        var result: [LibraryDecision] = []
        for entry in entries { result.append(await store.libraryDecision(for: entry.prompt, threshold: 0)) }
        return result
    }

    func tally(_ entries: [LibraryEvaluationSet.Entry], _ decisions: [LibraryDecision], threshold: Double) -> (Tally, [String]) {
        var tally = Tally()
        var wrong: [String] = []
        var missed: [String] = []
        for (entry, all) in zip(entries, decisions) {
            var decision = all
            decision.candidates = all.candidates.filter { $0.similarity >= threshold }
            let outcome = LibraryEvaluationSet.judge(decision, entry.label)
            tally.add(outcome)
            if outcome == .wronglyDeclined {
                missed.append("\(entry.id) (\(entry.label.example ?? ""))")
            }
            if outcome == .wrong {
                wrong.append("\(entry.id) → \(decision.candidates.first?.example.id ?? "-") (label \(entry.label.example ?? "none"))")
            }
        }
        tally.missed = missed
        return (tally, wrong)
    }

    /// The threshold is chosen on the dev split: the highest word-similarity floor that keeps
    /// every right dev answer and at most 2.5% different-task answers. The shipped default must
    /// be that value, and on the held-apart split the library answers a different task at
    /// most once in 40.
    func testCalibratedOnDevAndMeasuredOnTheHeldApartSplit() async throws {
        let store = try corpus()
        let set = try LibraryEvaluationSet.load()
        let (heldApart, dev) = set.split
        XCTAssertEqual(heldApart.count, 40)
        XCTAssertGreaterThanOrEqual(dev.count, 40)

        let devDecisions = await decisions(dev, store: store)
        var similarities: Set<Double> = [0]
        for decision in devDecisions {
            for candidate in decision.candidates { similarities.insert((candidate.similarity * 100).rounded(.down) / 100) }
        }
        let (base, _) = tally(dev, devDecisions, threshold: 0)
        var chosen = 0.0
        for threshold in similarities.sorted() {
            let (t, _) = tally(dev, devDecisions, threshold: threshold)
            if t.right == base.right, Double(t.wrong) <= 0.025 * Double(dev.count) { chosen = threshold }
        }
        let (devTally, devWrong) = tally(dev, devDecisions, threshold: chosen)
        print("library dev split (threshold \(chosen)): \(devTally)")
        XCTAssertEqual(LibraryMatcher.defaultThreshold, chosen, accuracy: 1e-9,
                       "the shipped threshold is the one calibrated on the dev split; dev: \(devTally)")

        let heldDecisions = await decisions(heldApart, store: store)
        let (held, heldWrong) = tally(heldApart, heldDecisions, threshold: LibraryMatcher.defaultThreshold)
        print("library held-apart split without a similarity floor: \(tally(heldApart, heldDecisions, threshold: 0).0)")
        print("library held-apart split (threshold \(LibraryMatcher.defaultThreshold)): \(held)")
        for line in devWrong + heldWrong { print("  different task: \(line)") }
        XCTAssertLessThanOrEqual(held.wrong, 1, "different-task answers on the held-apart split: \(heldWrong)")
        XCTAssertGreaterThanOrEqual(held.right, 10, "useful coverage on the held-apart split: \(held)")

        // The same split as kend answers on this machine, installed tools included.
        let kendStore = try XCTUnwrap(Self.storeAsKend)
        let tools = await kendStore.all().filter { $0.origin == .installedTool }.count
        let (withTools, toolWrong) = tally(heldApart, await decisions(heldApart, store: kendStore),
                                           threshold: LibraryMatcher.defaultThreshold)
        print("library held-apart split with the \(tools) installed bpftrace tools: \(withTools)")
        for line in toolWrong { print("  different task: \(line)") }
        XCTAssertLessThanOrEqual(withTools.wrong, 1, "with installed tools: \(toolWrong)")
    }

    /// Prompts written after the word lists were frozen, measured once: a check that the
    /// held-apart figure is not an artefact of having seen those prompts while writing the lists.
    func testFreshPromptsWrittenAfterTheWordListsWereFrozen() async throws {
        let store = try corpus()
        let fresh = try LibraryEvaluationSet.load("eval/library-fresh.jsonl")
        let (result, wrong) = tally(fresh.entries, await decisions(fresh.entries, store: store),
                                    threshold: LibraryMatcher.defaultThreshold)
        print("library fresh set (threshold \(LibraryMatcher.defaultThreshold)): \(result)")
        for line in wrong { print("  different task: \(line)") }
        XCTAssertLessThanOrEqual(Double(result.wrong), 0.025 * Double(result.total) + 1, "\(wrong)")
    }

    func testEveryLabelNamesAShippedExampleAndEveryEvalPromptIsLabelled() async throws {
        let store = try corpus()
        let ids = Set(await store.all().map(\.id))
        let set = try LibraryEvaluationSet.load()
        XCTAssertEqual(Set(set.entries.map(\.id)).count, set.entries.count, "ids are unique")
        for entry in set.entries {
            if let example = entry.label.example { XCTAssertTrue(ids.contains(example), "\(entry.id): no example \(example)") }
        }
        let labelled = Set(set.entries.map(\.id))
        for object in try LibraryEvaluationSet.lines(LibraryEvaluationSet.repositoryRoot.appendingPathComponent("eval/prompts.jsonl")) {
            let id = try XCTUnwrap(object["id"] as? String)
            XCTAssertTrue(labelled.contains(id), "eval/prompts.jsonl entry \(id) has no library label")
        }
    }

    func testARequestFillsTheExamplesProcessNameInTheSyntaxTree() async throws {
        let decision = try await corpus().libraryDecision(for: "Which files does vim open? Print each path")
        let answer = try XCTUnwrap(decision.candidates.first, "\(decision.request) \(decision.nearest.map(\.mismatches))")
        XCTAssertEqual(answer.example.id, "file-open-by-command")
        XCTAssertEqual(answer.substitutions, [ParameterSubstitution(kind: .process, from: "cat", to: "vim")])
        XCTAssertTrue(answer.program.contains("comm == \"vim\""), answer.program)
        XCTAssertFalse(answer.program.contains("\"cat\""), answer.program)
        XCTAssertEqual(ProgramTaskReader.task(of: answer.program)?.filters, [TaskFilter(.process, "vim")])
    }

    func testAPrefixSubstitutionKeepsTheComparedLengthRight() throws {
        let program = """
            tracepoint:syscalls:sys_enter_execve
            /strncmp(str(args->filename), "/tmp/", 5) == 0/
            { printf("exec from /tmp/: %s\\n", str(args->filename)); }
            """
        let filled = try ParameterFiller.fill(program, substitutions: [ParameterSubstitution(kind: .pathPrefix, from: "/tmp/", to: "/dev/shm/")])
        XCTAssertTrue(filled.contains("strncmp(str(args->filename), \"/dev/shm/\", 9) == 0"), filled)
        XCTAssertTrue(filled.contains("exec from /dev/shm/"), filled)
    }

    func testASignalAndAnIntervalAreFilled() throws {
        let program = """
            tracepoint:sched:sched_process_exec /comm == "xmrig"/ { printf("killed xmrig pid %d\\n", pid); signal("SIGKILL"); }
            interval:s:5 { print(@x); }
            """
        let filled = try ParameterFiller.fill(program, substitutions: [
            ParameterSubstitution(kind: .process, from: "xmrig", to: "xmrig-proxy"),
            ParameterSubstitution(kind: .signal, from: "SIGKILL", to: "SIGTERM"),
        ], interval: 10)
        XCTAssertTrue(filled.contains("signal(\"SIGTERM\")"), filled)
        XCTAssertTrue(filled.contains("comm == \"xmrig-proxy\""), filled)
        XCTAssertTrue(filled.contains("killed xmrig-proxy pid"), filled)
        XCTAssertTrue(filled.contains("interval:s:10"), filled)
    }

    /// The four wrong answers the issue reports are declined now.
    func testTheIssuesDifferentTaskAnswersAreDeclined() async throws {
        let store = try corpus()
        for prompt in [
            "Trace md flush events on the software RAID device",          // was: every file open
            "Show the length of the block device request queue",          // was: a latency histogram
            "Histogram of XFS read latency",                              // was: block I/O latency
            "Count accepted TCP connections per process",                  // no example counts accepts
        ] {
            let decision = await store.libraryDecision(for: prompt)
            XCTAssertTrue(decision.candidates.isEmpty, "\(prompt) → \(decision.candidates.map(\.example.id)) (\(decision.request))")
            XCTAssertEqual(decision.nearest.count, 3, "a decline offers three suggestions")
        }
        let outgoing = await store.libraryDecision(for: "Show outgoing TCP connections with the program and the address they go to")
        XCTAssertEqual(outgoing.candidates.first?.example.id, "net-tcp-connect-out")
        XCTAssertFalse(outgoing.candidates.contains { $0.example.id == "net-tcp-accept-in" })
    }

    func testEveryCorpusExampleHasATaskModelAndAnswersItsOwnPrompt() async throws {
        let store = try corpus()
        var answeredOwn = 0
        for example in await store.all() where example.origin == .corpus {
            let model = try XCTUnwrap(example.taskModel, "\(example.id) has a task model")
            XCTAssertFalse(model.events.isEmpty && example.id != "misc-heartbeat", "\(example.id): no events")
            let decision = await store.libraryDecision(for: example.prompt)
            if let first = decision.candidates.first {
                XCTAssertEqual(first.example.id, example.id, "\(example.prompt) answered by another example")
                answeredOwn += 1
            }
        }
        print("corpus prompts answered by their own example: \(answeredOwn)")
        XCTAssertGreaterThan(answeredOwn, 40)
    }

    func testTaskMetadataIsParsedStrictly() {
        XCTAssertNoThrow(try TaskMetadata.parse("events=tcp-connect; filters="))
        XCTAssertThrowsError(try TaskMetadata.parse("action=frobnicate"))
        XCTAssertThrowsError(try TaskMetadata.parse("colour=blue"))
        XCTAssertThrowsError(try TaskMetadata.parse("filters=nonsense:1"))
    }
}
