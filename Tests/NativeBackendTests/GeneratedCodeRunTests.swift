import BPF
import Foundation
import NativeABI
import NativeBackend
import XCTest

/// Runs generated code: a probe on this test's own getppid() stores the results of the integer
/// rules of docs/semantics.md in a map; the test attaches it, calls getppid(), and reads the map
/// back with `bpftool map dump`. (BEGIN itself cannot be run by bpftool: its `prog run` always
/// asks for a repeat count, which the kernel refuses for raw_tp programs.)
/// The full differential suite (native against bpftrace) is another suite's job; this checks
/// the rules the generator itself implements.
final class GeneratedCodeRunTests: XCTestCase {
    /// (expression, expected 64-bit value as stored in the map).
    static let cases: [(String, UInt64)] = [
        ("(-7) / 2", UInt64(bitPattern: -7) / 2),                  // `/` is unsigned
        ("7 / 0", 0),                                                // x / 0 == 0
        ("7 % 0", 7),                                                // x % 0 == x
        ("(-7) % 5", UInt64(bitPattern: -7) % 5),                  // `%` is unsigned
        ("(-8) >> 1", UInt64(bitPattern: -8) >> 1),                // `>>` is logical
        ("(int8)-1 < 0", 1),                                         // both signed: signed compare
        ("(uint32)1 > (int32)-1", 0),                                // mixed: unsigned compare
        ("-(uint16)1", 0xffff),                                      // unary - keeps the width
        ("~(uint16)0", 0xffff),                                      // unary ~ keeps the width
        ("(uint8)300", 44),                                          // casts keep the low bits
        ("(int16)-5", UInt64(bitPattern: -5)),                     // and extend by signedness
        ("(uint64)(int32)-1", UInt64.max),
        ("(bool)256", 1),                                            // bool is "non-zero"
        ("(int32)2147483647 + 1", 2_147_483_648),                  // widened before adding
        ("\"abc\" == \"abc\"", 1),
        ("\"abc\" == \"abd\"", 0),
        ("strncmp(\"abcx\", \"abcy\", 3)", 0),
        ("@missing[5]", 0),                                          // a missing key reads 0
        ("$v", 44),                                                  // a variable keeps its first type
    ]

    func testGeneratedCodeFollowsTheIntegerRules() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load and run BPF programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/bpftool") else { throw XCTSkip("needs bpftool") }
        var body = "$v = (uint8)1; $v = 300; @missing[1] = 1;\n"
        for (i, (expression, _)) in Self.cases.enumerated() { body += "  @r[\(i)] = (uint64)(\(expression));\n" }
        // A map name no other test or extension uses, so bpftool finds this one by name.
        let map = "kr\(getpid() % 1_000_000)"
        body = body.replacingOccurrences(of: "@r[", with: "@\(map)[")
        let source = "tracepoint:syscalls:sys_enter_getppid /pid == \(getpid())/ {\n\(body)}\n"
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        let mapName = try XCTUnwrap(artifact.plan.map(named: map)?.bpfName)
        let object = try BPFObject(elf: artifact.object, name: "ken_rules")
        try object.load()
        let link = try object.attach(programNamed: try XCTUnwrap(artifact.plan.probes.first?.programName))
        defer { link.destroy() }
        _ = getppid()
        let dump = try bpftool(["-j", "map", "dump", "name", mapName])
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [[String: Any]])
        var values: [UInt64: UInt64] = [:]
        for entry in entries {
            guard let key = entry["key"] as? [String], let value = entry["value"] as? [String] else { continue }
            values[Self.littleEndian(key)] = Self.littleEndian(value)
        }
        for (i, (expression, expected)) in Self.cases.enumerated() {
            XCTAssertEqual(values[UInt64(i)], expected, "\(expression)")
        }
    }

    /// Aggregations write this CPU's slot in the layouts NativeMapValue documents.
    func testAggregationsWriteTheDocumentedLayouts() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load and run BPF programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/bpftool") else { throw XCTSkip("needs bpftool") }
        let tag = getpid() % 100_000
        let names = ["c", "s", "h", "l", "n", "x", "a"].map { "\($0)\(tag)" }
        let source = """
        tracepoint:syscalls:sys_enter_getppid /pid == \(getpid())/ {
          @\(names[0]) = count(); @\(names[1]) = sum(-5); @\(names[2]) = hist(5); @\(names[3]) = lhist(25, 0, 100, 10);
          @\(names[4]) = min(-3); @\(names[5]) = max(7); @\(names[6]) = avg(9);
          @\(names[1]) = sum(@\(names[0]) * 10);
        }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        let object = try BPFObject(elf: artifact.object, name: "ken_aggregations")
        try object.load()
        let link = try object.attach(programNamed: try XCTUnwrap(artifact.plan.probes.first?.programName))
        defer { link.destroy() }
        _ = getppid()
        func words(_ name: String) throws -> [UInt64] {
            let bpfName = try XCTUnwrap(artifact.plan.map(named: name)?.bpfName)
            let dump = try bpftool(["-j", "map", "dump", "name", bpfName])
            let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [[String: Any]])
            let perCPU = try XCTUnwrap(entries.first?["values"] as? [[String: Any]], "\(name): \(dump)")
            var sum: [UInt64] = []
            for slot in perCPU {
                let bytes = try XCTUnwrap(slot["value"] as? [String])
                let values = stride(from: 0, to: bytes.count, by: 8).map { Self.littleEndian(Array(bytes[$0..<min($0 + 8, bytes.count)])) }
                if sum.isEmpty { sum = values } else { sum = zip(sum, values).map { $0 &+ $1 } }
            }
            return sum
        }
        XCTAssertEqual(try words(names[0]), [1])
        // sum(-5), then sum(count * 10) with this CPU's count (1) read back in the probe.
        XCTAssertEqual(try words(names[1]), [UInt64(bitPattern: -5 + 10)])
        var hist = [UInt64](repeating: 0, count: NativeMapValue.histBuckets)
        hist[2 + 2] = 1  // 5 is in [2^2, 2^3)
        XCTAssertEqual(try words(names[2]), hist)
        var linear = [UInt64](repeating: 0, count: 12)
        linear[1 + 2] = 1  // 25 is in [20, 30)
        XCTAssertEqual(try words(names[3]), linear)
        XCTAssertEqual(try words(names[4]), [UInt64(bitPattern: -3), 1])
        XCTAssertEqual(try words(names[5]), [7, 1])
        XCTAssertEqual(try words(names[6]), [9, 1])
    }

    /// Strings: user memory read with the user helper (or by address, for a pointer kept in a map), zero after the NUL, `str(s, n)` keeps
    /// n - 1 bytes, `==` compares contents, comm is the thread's name.
    func testStringsAreReadAndComparedAsDocumented() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load and run BPF programs") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/bpftool") else { throw XCTSkip("needs bpftool") }
        let path = "/nonexistent/ken-native-\(getpid())"
        let map = "st\(getpid() % 100_000)"
        let source = """
        tracepoint:syscalls:sys_enter_openat /pid == \(getpid()) && strncmp(str(args->filename), "/nonexistent/ken-native-", 24) == 0/ {
          @\(map)[0] = str(args->filename); @\(map)[1] = str(args->filename, 5);
          @\(map)[2] = str(args->filename) == "\(path)" ? "equal" : "different";
          @\(map)[3] = str(args->filename) == "\(path)x" ? "equal" : "different";
          @p\(map)[0] = args->filename; @\(map)[4] = str(@p\(map)[0]);
        }
        """
        let artifact = try NativeCompiler(kernel: NativeFixtures.kernel).compile(try NativeFixtures.resolved(source))
        XCTAssertEqual(artifact.plan.map(named: map)?.value, .value(.string(size: 64)))
        let object = try BPFObject(elf: artifact.object, name: "ken_strings")
        try object.load()
        let link = try object.attach(programNamed: try XCTUnwrap(artifact.plan.probes.first?.programName))
        defer { link.destroy() }
        let fd = open(path, O_RDONLY)
        if fd >= 0 { close(fd) }
        let dump = try bpftool(["-j", "map", "dump", "name", try XCTUnwrap(artifact.plan.map(named: map)?.bpfName)])
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [[String: Any]])
        var values: [UInt64: [UInt8]] = [:]
        for entry in entries {
            guard let key = entry["key"] as? [String], let value = entry["value"] as? [String] else { continue }
            values[Self.littleEndian(key)] = value.map { UInt8($0.dropFirst(2), radix: 16) ?? 0xff }
        }
        func padded(_ text: String) -> [UInt8] { Array(text.utf8) + [UInt8](repeating: 0, count: 64 - text.utf8.count) }
        XCTAssertEqual(values[0], padded(path))
        XCTAssertEqual(values[1], padded("/non"))
        XCTAssertEqual(values[2], padded("equal"))
        XCTAssertEqual(values[3], padded("different"))
        XCTAssertEqual(values[4], padded(path), "a user pointer kept in a map is still read from user memory")
    }

    static func littleEndian(_ bytes: [String]) -> UInt64 {
        bytes.prefix(8).enumerated().reduce(UInt64(0)) { sum, item in
            sum | (UInt64(item.element.dropFirst(2), radix: 16) ?? 0) << (8 * UInt64(item.offset))
        }
    }

    @discardableResult
    func bpftool(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/bpftool")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw XCTSkip("bpftool \(arguments.joined(separator: " ")) failed: \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
