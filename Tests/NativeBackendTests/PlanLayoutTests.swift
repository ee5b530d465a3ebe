import BPF
import BpftraceSemantics
import Foundation
import NativeABI
import NativeBackend
import XCTest

/// Golden checks of the plan: the layouts the output runtime reads must be exactly the ones the
/// generated C writes. The programs use only BEGIN, END and interval, so the plan does not
/// depend on the kernel's tracepoint formats.
final class PlanLayoutTests: XCTestCase {
    static let program = #"""
    BEGIN { @x[1, "ab"] = 5; @c = count(); printf("%d %s %d\n", (int16)1, "hi", (uint8)2);
            @h = hist(3); @l = lhist(5, 0, 100, 10); @m = min(-1); @s = "str"; print(@x, 3, 2); clear(@c); exit(); }
    interval:ms:250 { time(); zero(@h); }
    END { print(1 > 0); }
    """#

    func testPlanDescribesProbesMapsAndEventsAsGenerated() throws {
        let resolved = try NativeFixtures.resolved(Self.program)
        let (source, plan) = try NativeCompiler(kernel: NativeFixtures.kernel).generate(resolved)

        XCTAssertEqual(plan.version, NativePlan.currentVersion)
        XCTAssertEqual(plan.probes, [
            NativeProbe(programName: "p0_BEGIN", attachPoint: "BEGIN", attach: .begin),
            NativeProbe(programName: "p2_END", attachPoint: "END", attach: .end),
            NativeProbe(programName: "p1_interval", attachPoint: "interval:ms:250", attach: .interval(nanoseconds: 250_000_000)),
        ])

        let int64 = NativeType.integer(bits: 64, signed: true)
        XCTAssertEqual(plan.map(named: "x"), NativeMap(
            name: "x", bpfName: "m_x",
            keyFields: [NativeField(offset: 0, type: int64), NativeField(offset: 8, type: .string(size: 3))],
            keySize: 16, value: .value(int64), valueSize: 8, perCPU: false))
        XCTAssertEqual(plan.map(named: "c"), NativeMap(name: "c", bpfName: "m_c", keyFields: [], keySize: 8,
                                                       value: .count, valueSize: 8, perCPU: true))
        XCTAssertEqual(plan.map(named: "h")?.value, .hist)
        XCTAssertEqual(plan.map(named: "h")?.valueSize, NativeMapValue.histBuckets * 8)
        XCTAssertEqual(plan.map(named: "l")?.value, .linearHist(min: 0, max: 100, step: 10))
        XCTAssertEqual(plan.map(named: "l")?.valueSize, 12 * 8)
        XCTAssertEqual(plan.map(named: "m")?.value, .min)
        XCTAssertEqual(plan.map(named: "m")?.valueSize, 16)
        XCTAssertEqual(plan.map(named: "s")?.value, .value(.string(size: 4)))
        XCTAssertEqual(plan.map(named: "s")?.valueSize, 8)
        XCTAssertTrue(plan.maps.allSatisfy { $0.maxEntries == 4096 && $0.bpfName.count <= 15 })

        XCTAssertEqual(plan.events, [
            .printf(format: "%d %s %d\n", arguments: [
                NativeField(offset: 8, type: .integer(bits: 16, signed: true)),
                NativeField(offset: 10, type: .string(size: 3)),
                NativeField(offset: 13, type: .integer(bits: 8, signed: false)),
            ]),
            .printMap(map: "x", top: 3, divisor: 2),
            .clear(map: "c"),
            .exit,
            .time(format: nil),
            .zero(map: "h"),
            .printValue(NativeField(offset: 8, type: .integer(bits: 64, signed: false))),
        ])
        XCTAssertEqual(plan.eventsMapName, "ken_events")
        XCTAssertEqual(plan.lostMapName, "ken_lost")
        XCTAssertEqual(plan.startTimeMapName, "ken_start")
        XCTAssertEqual(plan.ringBufferBytes, 1 << 19)
        XCTAssertTrue(source.contains("__uint(max_entries, \(1 << 19));"), "the ring buffer has the plan's size")
        XCTAssertTrue(source.contains("__uint(map_flags, 1); /* BPF_F_NO_PREALLOC */"), "hash maps allocate entries as they are inserted")

        // The C declares what the plan says, under the same names.
        XCTAssertTrue(source.contains("SEC(\"raw_tp\")\nint p0_BEGIN("), source)
        XCTAssertTrue(source.contains("SEC(\"perf_event\")\nint p1_interval("), source)
        XCTAssertTrue(source.contains("} m_x SEC(\".maps\");"), source)
        XCTAssertTrue(source.contains("char LICENSE[] SEC(\"license\") = \"GPL\";"))
        XCTAssertFalse(source.contains("#include"), "no headers: helpers are declared by number")

        // The plan survives the registry (Codable) unchanged.
        let decoded = try JSONDecoder().decode(NativePlan.self, from: JSONEncoder().encode(plan))
        XCTAssertEqual(decoded, plan)
    }

    func testMapDeclarationsAndConfigSetCapacities() throws {
        let resolved = try NativeFixtures.resolved(#"""
        config = { max_map_keys = 100 }
        let @small = lruhash(16);
        BEGIN { @small[1] = 1; @other[2] = 2; }
        """#)
        let plan = try NativeCompiler(kernel: NativeFixtures.kernel).generate(resolved).plan
        XCTAssertEqual(plan.map(named: "small")?.maxEntries, 16)
        XCTAssertEqual(plan.map(named: "small")?.lru, true)
        XCTAssertEqual(plan.map(named: "other")?.maxEntries, 100)
        XCTAssertEqual(plan.map(named: "other")?.lru, false)
    }

    func testMapValueTypeComesFromTheFirstStoreAndStringsWiden() throws {
        let resolved = try NativeFixtures.resolved(#"""
        BEGIN { @u = (uint32)1; @u = -1; @k[comm] = 1; @k[str(0)] = 2; @n++; }
        """#)
        let plan = try NativeCompiler(kernel: NativeFixtures.kernel).generate(resolved).plan
        XCTAssertEqual(plan.map(named: "u")?.value, .value(.integer(bits: 64, signed: false)))
        XCTAssertEqual(plan.map(named: "k")?.keyFields, [NativeField(offset: 0, type: .string(size: 64))])
        XCTAssertEqual(plan.map(named: "k")?.keySize, 64)
        XCTAssertEqual(plan.map(named: "n")?.value, .value(.integer(bits: 64, signed: true)))
    }

    func testProbeNamesTheExpandedAttachPoint() throws {
        let resolved = try NativeFixtures.resolved("tracepoint:syscalls:sys_enter_openat* { printf(\"%s\\n\", probe); }")
        let (source, plan) = try NativeCompiler(kernel: NativeFixtures.kernel).generate(resolved)
        XCTAssertTrue(plan.probes.allSatisfy { $0.attachPoint == "tracepoint:syscalls:sys_enter_openat*" })
        XCTAssertTrue(source.contains("\"tracepoint:syscalls:sys_enter_openat\""), source)
        XCTAssertTrue(source.contains("SEC(\"tracepoint/syscalls/sys_enter_openat\")"), source)
    }

    func testGoldenProgramCompilesAndPassesTheVerifier() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load BPF programs") }
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(Self.program))
        XCTAssertEqual(artifact.kernelRelease, NativeFixtures.kernel.release)
        let object = try BPFObject(elf: artifact.object, name: "ken_golden")
        XCTAssertEqual(object.programs.map { $0.name }, artifact.plan.probes.map { $0.programName })
        XCTAssertEqual(object.programs.map { $0.sectionName }, ["raw_tp", "raw_tp", "perf_event"])
        try object.load()
    }
}
