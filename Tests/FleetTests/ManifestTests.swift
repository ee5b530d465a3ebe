import Digest
import Fleet
import Foundation
import KenProto
import XCTest

final class ManifestTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ken-fleet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func testADirectoryOfManifestsIsReadInNameOrder() throws {
        try write("b-opens.toml", """
            name = "opens"
            prompt = "print every file opened by cat"
            """)
        try write("a-execs.toml", """
            name = "execs"
            prompt = "print every program executed"
            max_attempts = 2
            on_failure = "detach"
            program = \"\"\"
            tracepoint:sched:sched_process_exec { printf("%s\\\\n", str(args->filename)); }
            \"\"\"
            """)
        try write("notes.txt", "not a manifest")
        let manifests = try ManifestLoader.load(path: directory.path)
        XCTAssertEqual(manifests.map(\.name), ["execs", "opens"])
        XCTAssertEqual(manifests[0].maxAttempts, 2)
        XCTAssertEqual(manifests[0].onFailure, .detach)
        XCTAssertEqual(manifests[0].program, "tracepoint:sched:sched_process_exec { printf(\"%s\\n\", str(args->filename)); }\n")
        XCTAssertNil(manifests[1].program)
        XCTAssertEqual(manifests[1].maxAttempts, 3)
        XCTAssertTrue(manifests[1].sourcePath.hasSuffix("b-opens.toml"))
    }

    func testProgramFileAndItsPin() throws {
        let program = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\n"
        try write("opens.bt", program)
        try write("pinned.toml", """
            name = "opens"
            prompt = "count file opens per process"
            program_file = "opens.bt"
            program_sha256 = "\(SHA256.hex(program))"
            """)
        let manifest = try ManifestLoader.loadFile(directory.appendingPathComponent("pinned.toml").path)
        XCTAssertEqual(manifest.program, program)

        try write("wrong-pin.toml", """
            name = "opens2"
            prompt = "count file opens per process"
            program_file = "opens.bt"
            program_sha256 = "\(String(repeating: "0", count: 64))"
            """)
        XCTAssertThrowsError(try ManifestLoader.loadFile(directory.appendingPathComponent("wrong-pin.toml").path)) { error in
            XCTAssertTrue("\(error)".contains("program_sha256 does not match"), "\(error)")
            XCTAssertTrue("\(error)".contains("wrong-pin.toml"), "errors name the file: \(error)")
        }
    }

    func testBadManifestsAreClearErrorsNamingTheFile() throws {
        let cases: [(String, String)] = [
            ("name = \"x\"\n", "missing key \"prompt\""),
            ("name = \"bad name!\"\nprompt = \"p\"\n", "must be 1–64 letters"),
            ("name = \"x\"\nprompt = \"p\"\ncolour = \"red\"\n", "unknown key colour"),
            ("name = \"x\"\nprompt = \"  \"\n", "prompt is empty"),
            ("name = \"x\"\nprompt = \"p\"\nmax_attempts = 0\n", "max_attempts"),
            ("name = \"x\"\nprompt = \"p\"\non_failure = \"explode\"\n", "on_failure"),
            ("name = \"x\"\nprompt = \"p\"\nprogram = \"a\"\nprogram_file = \"b\"\n", "either program or program_file"),
            ("name = \"x\"\nprompt = 3\n", "prompt must be a string"),
            ("name = \"x\"\nprompt = \"unterminated\n", "x.toml:2:"),
            ("name = \"x\"\nprompt = \"p\"\nprogram_sha256 = \"abc\"\n", "no program"),
        ]
        for (text, expected) in cases {
            try write("x.toml", text)
            XCTAssertThrowsError(try ManifestLoader.loadFile(directory.appendingPathComponent("x.toml").path), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text) → \(error)")
            }
        }
    }

    func testTheSameNameInTwoFilesIsRefused() throws {
        try write("one.toml", "name = \"dup\"\nprompt = \"a\"\n")
        try write("two.toml", "name = \"dup\"\nprompt = \"b\"\n")
        XCTAssertThrowsError(try ManifestLoader.load(path: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("already declared in"), "\(error)")
        }
    }

    func testDigestChangesWithWhatMattersOnly() {
        let base = Manifest(name: "a", prompt: "print  every file", sourcePath: "/x/a.toml")
        XCTAssertEqual(base.digest, Manifest(name: "a", prompt: "print every file", sourcePath: "/y/moved.toml").digest)
        XCTAssertNotEqual(base.digest, Manifest(name: "a", prompt: "print every dir").digest)
        XCTAssertNotEqual(base.digest, Manifest(name: "a", prompt: "print every file", program: "BEGIN {}").digest)
        XCTAssertNotEqual(base.digest, Manifest(name: "a", prompt: "print every file", maxAttempts: 2).digest)
    }

    func testWireRoundTripValidates() throws {
        let manifest = Manifest(name: "opens", prompt: "print opens", program: "BEGIN { exit(); }\n", maxAttempts: 2,
                                onFailure: .detach, sourcePath: "/etc/ken/extensions.d/opens.toml")
        XCTAssertEqual(try Manifest(proto: manifest.proto), manifest)
        var bad = manifest.proto
        bad.name = "../../etc/passwd"
        XCTAssertThrowsError(try Manifest(proto: bad))
    }
}

final class ApplyPlannerTests: XCTestCase {
    func extensionRecord(_ name: String, digest: String, state: Ken_V1_ExtensionState = .attached) -> Ken_V1_Extension {
        Ken_V1_Extension.with {
            $0.id = String(name.hashValue.magnitude % 1_000_000)
            $0.name = name
            $0.manifestDigest = digest
            $0.state = state
        }
    }

    func testPlanCoversCreateUnchangedUpdateAndPrune() {
        let opens = Manifest(name: "opens", prompt: "print every file opened")
        let execs = Manifest(name: "execs", prompt: "print every exec")
        let edited = Manifest(name: "forks", prompt: "print every fork, with the parent")
        let running = [
            extensionRecord("opens", digest: opens.digest),
            extensionRecord("forks", digest: Manifest(name: "forks", prompt: "print every fork").digest),
            extensionRecord("old", digest: "abc"),
            extensionRecord("by-hand", digest: ""),
            extensionRecord("gone", digest: "def", state: .detached),
        ]
        let plan = ApplyPlanner.plan(manifests: [opens, execs, edited], extensions: running, prune: true)
        let summary = Dictionary(uniqueKeysWithValues: plan.map { ($0.name, $0.kind) })
        XCTAssertEqual(summary, ["opens": .unchanged, "execs": .create, "forks": .update, "old": .prune])
        XCTAssertNil(summary["by-hand"], "hand-attached extensions are never pruned")

        let withoutPrune = ApplyPlanner.plan(manifests: [opens, execs, edited], extensions: running, prune: false)
        XCTAssertFalse(withoutPrune.contains { $0.kind == .prune })
    }

    func testAFailedExtensionIsUpdatedAndAHandAttachedNameIsTakenOver() {
        let opens = Manifest(name: "opens", prompt: "print every file opened")
        let failed = ApplyPlanner.plan(manifests: [opens], extensions: [extensionRecord("opens", digest: opens.digest, state: .failed)], prune: false)
        XCTAssertEqual(failed.first?.kind, .update)
        XCTAssertTrue(failed.first?.reason.contains("failed") ?? false)
        let byHand = ApplyPlanner.plan(manifests: [opens], extensions: [extensionRecord("opens", digest: "")], prune: false)
        XCTAssertEqual(byHand.first?.kind, .update)
        XCTAssertTrue(byHand.first?.reason.contains("by hand") ?? false)
    }
}
