import BPF
import Foundation
import KernelLoader
import XCTest

/// Real objects compiled with clang, loaded, attached and pinned in the real kernel.
final class ObjectLoaderTests: XCTestCase {
    private var pinRoots: [String] = []

    override func tearDown() {
        for root in pinRoots {
            let extensions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            for name in extensions { try? ObjectLoader(pinRoot: root).detach(extensionID: name) }
            rmdir(root)
        }
        pinRoots = []
    }

    private func loader() throws -> ObjectLoader {
        try KernelTestSupport.requireRoot()
        try KernelTestSupport.requireBpffs()
        try KernelTestSupport.requireTracefs()
        let root = "/sys/fs/bpf/ken-test-\(UUID().uuidString.prefix(8).lowercased())"
        pinRoots.append(root)
        return ObjectLoader(pinRoot: root)
    }

    func testLoadAttachPinAdoptDetach() async throws {
        let loader = try loader()
        let elf = try BPFFixtures.compile(BPFFixtures.counter, name: "counter")
        let clock = ContinuousClock()

        let attachStart = clock.now
        let loaded = try loader.loadAndAttach(elf: elf, extensionID: "ext-1")
        let attachLatency = clock.now - attachStart

        XCTAssertEqual(loaded.programs.map(\.name), ["count_getpid", "count_getppid"])
        XCTAssertEqual(loaded.programs.first?.sectionName, "tracepoint/syscalls/sys_enter_getpid")
        XCTAssertEqual(loaded.programs.first?.typeName, "tracepoint")
        XCTAssertEqual(loaded.pinDirectory, loader.pinRoot + "/ext-1")
        for program in loaded.programs {
            XCTAssertTrue(FileManager.default.fileExists(atPath: program.pinPath))
            let info = try XCTUnwrap(ProgramTable.program(id: program.programID))
            XCTAssertEqual(info.name, program.name.count > 15 ? String(program.name.prefix(15)) : program.name)
            XCTAssertEqual(info.mapIDs.count, 1, "the counter map is referenced")
        }
        XCTAssertEqual(ProgramTable.programIDs(pinnedUnder: loaded.pinDirectory).sorted(), loaded.programIDs.sorted())
        let bpftool = try KernelTestSupport.bpftoolProgramIDs()
        for id in loaded.programIDs { XCTAssertNotNil(bpftool[id], "bpftool lists program \(id)") }

        // Loading the same extension twice is refused: its pins are in the way.
        XCTAssertThrowsError(try loader.loadAndAttach(elf: elf, extensionID: "ext-1")) { error in
            guard case ObjectLoaderError.alreadyPinned = error else { return XCTFail("\(error)") }
        }

        // A fresh loader (an agent restart) finds the same links and programs through the pins.
        let adopted = try ObjectLoader(pinRoot: loader.pinRoot).adoptPinned(extensionID: "ext-1")
        XCTAssertEqual(Set(adopted.programIDs), Set(loaded.programIDs))
        XCTAssertEqual(Set(adopted.linkIDs), Set(loaded.linkIDs))
        for id in loaded.programIDs { XCTAssertTrue(ProgramTable.exists(id: id), "pins keep program \(id) loaded") }

        let detachStart = clock.now
        try loader.detach(extensionID: "ext-1")
        let ids = loaded.programIDs
        let gone = await KernelTestSupport.waitUntil { ids.allSatisfy { !ProgramTable.exists(id: $0) } }
        let detachLatency = clock.now - detachStart
        XCTAssertNotNil(gone, "detach unloads the programs")
        XCTAssertFalse(FileManager.default.fileExists(atPath: loaded.pinDirectory))
        XCTAssertThrowsError(try loader.adoptPinned(extensionID: "ext-1")) { error in
            guard case ObjectLoaderError.notPinned = error else { return XCTFail("\(error)") }
        }
        print("object attach latency (load+attach+pin, 2 programs): \(KernelTestSupport.milliseconds(attachLatency)) ms; "
              + "detach until unloaded: \(KernelTestSupport.milliseconds(detachLatency)) ms")

        // After a "reboot" (no pins), loading again works.
        let again = try loader.loadAndAttach(elf: elf, extensionID: "ext-1")
        XCTAssertEqual(again.programs.count, 2)
        try loader.detach(extensionID: "ext-1")
    }

    func testVerifierRejectionCarriesVerifierLog() throws {
        let loader = try loader()
        let elf = try BPFFixtures.compile(BPFFixtures.outOfBounds, name: "oob")
        XCTAssertThrowsError(try loader.loadAndAttach(elf: elf, extensionID: "bad")) { error in
            guard case ObjectLoaderError.rejected(let bpfError) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(bpfError.errno, EACCES)
            XCTAssertTrue(bpfError.verifierLog.contains("invalid access to map value"), bpfError.verifierLog)
            XCTAssertTrue("\(error)".contains("invalid access to map value"))
            XCTAssertTrue(bpfError.libbpfLog.contains("read_past_end"), bpfError.libbpfLog)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: loader.pinRoot + "/bad"))
        XCTAssertThrowsError(try loader.verifyOnly(elf: elf))
    }

    func testVerifyOnlyLoadsAndUnloads() async throws {
        let loader = try loader()
        let elf = try BPFFixtures.compile(BPFFixtures.counter, name: "counter")
        let verification = try loader.verifyOnly(elf: elf)
        XCTAssertEqual(verification.programs.count, 2)
        XCTAssertTrue(verification.programs.allSatisfy { $0.verifiedInstructions > 0 })
        let ids = verification.programs.map(\.id)
        let gone = await KernelTestSupport.waitUntil { ids.allSatisfy { !ProgramTable.exists(id: $0) } }
        XCTAssertNotNil(gone, "verify-only leaves nothing in the kernel")
        XCTAssertFalse(FileManager.default.fileExists(atPath: loader.pinRoot + "/ken_verify"))
    }

    func testGarbageAndBadIDsAreClearErrors() throws {
        let loader = try loader()
        XCTAssertThrowsError(try loader.loadAndAttach(elf: [0x7f, 0x45, 0x4c, 0x46, 1, 2, 3], extensionID: "junk")) { error in
            guard case ObjectLoaderError.invalidObject = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try loader.loadAndAttach(elf: [], extensionID: "empty"))
        for id in ["", "..", "a/b", String(repeating: "x", count: 300)] {
            XCTAssertThrowsError(try loader.pinDirectory(for: id)) { error in
                guard case ObjectLoaderError.invalidExtensionID = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try PinnedLink.open(at: "/sys/fs/bpf/ken-no-such-pin"))
    }
}
