import Foundation
import NativeABI
@testable import NativeRuntime
import XCTest

/// The runtime's text against what the installed bpftrace 0.17 printed with `-f json` for the
/// same values (each expected string below was copied from a real bpftrace run).
final class OutputFormatTests: XCTestCase {
    func format(_ format: String, _ arguments: [PrintedValue]) -> String {
        PrintfFormat(format).format(arguments)
    }

    func testPrintfSpecifiersAsBpftrace() {
        XCTAssertEqual(format("d=%d u=%u x=%x X=%X s=%s c=%c p=%p lu=%lu llx=%llx [%-10s] [%5d] %%\n",
                              [.signed(-5), .signed(-5), .signed(255), .signed(255), .text("str"), .signed(65), .signed(0xffff),
                               .signed(123), .signed(0xabc), .text("ab"), .signed(42)]),
                       "d=-5 u=4294967291 x=ff X=FF s=str c=A p=0xffff lu=123 llx=abc [ab        ] [   42] %%\n")
        XCTAssertEqual(format("%-5s|%08x|%ld|%lu|\n", [.text("ab"), .signed(255), .signed(-1), .signed(-1)]),
                       "ab   |000000ff|-1|18446744073709551615|\n")
        XCTAssertEqual(format("%5.2s|\n", [.text("abcdef")]), "   ab|\n")
        XCTAssertEqual(format("%hd|%hhd\n", [.signed(70000), .signed(300)]), "4464|44\n")
        XCTAssertEqual(format("%llu %lld %lx %p\n", [.signed(-1), .signed(-1), .signed(-1), .signed(0)]),
                       "18446744073709551615 -1 ffffffffffffffff (nil)\n")
        XCTAssertEqual(format("%c%c\n", [.signed(104), .signed(105)]), "hi\n")
        XCTAssertEqual(format("[%10d] [%-10u]\n", [.signed(-3), .signed(7)]), "[        -3] [7         ]\n")
        XCTAssertEqual(format("%5s|%-5d|%05d|%x|%c\n", [.text("ab"), .signed(3), .signed(7), .signed(-1), .signed(0x41)]),
                       "   ab|3    |00007|ffffffff|A\n")
        XCTAssertEqual(format("%p %d %s\n", [.unsigned(0xffffffff81000000), .signed(-1), .text("bpftrace")]),
                       "0xffffffff81000000 -1 bpftrace\n")
        XCTAssertEqual(format("%d\n", [.unsigned(255)]), "255\n")
        // Widths and precisions count bytes, as C does.
        XCTAssertEqual(format("%-6s|%.3s|\n", [.text("é"), .text("aéb")]), "é    |aé|\n")
    }

    func testPercentIsReducedOnlyBeforeTheLastConversion() {
        // bpftrace 0.17 formats segment by segment and copies the tail after the last argument.
        XCTAssertEqual(format("a%%b %d c%%\n", [.signed(1)]), "a%b 1 c%%\n")
        XCTAssertEqual(format("100%%\n", []), "100%%\n")
        XCTAssertEqual(format("%d%% %s %%\n", [.signed(5), .text("x")]), "5% x %%\n")
    }

    func testJSONEscapes() {
        XCTAssertEqual(JSONText.line(type: "printf", data: JSONText.quote("a\tb\"c\\d\u{01}e\n")),
                       #"{"type": "printf", "data": "a\tb\"c\\d\u0001e\n"}"#)
    }

    // MARK: Maps

    func map(_ name: String, keys: [NativeField] = [], _ value: NativeMapValue) -> MapText {
        MapText(spec: NativeMap(name: name, bpfName: "m_" + name, keyFields: keys, keySize: 8, value: value,
                                valueSize: 8, perCPU: true))
    }

    func hist(_ values: [Int64]) -> [UInt64] {
        var buckets = [UInt64](repeating: 0, count: NativeMapValue.histBuckets)
        for v in values {
            let index = v < 0 ? 0 : v == 0 ? 1 : 2 + (63 - v.leadingZeroBitCount)
            buckets[index] += 1
        }
        return buckets
    }

    func testHistogramsAsBpftrace() {
        XCTAssertEqual(map("h", .hist).line([.init(key: [], value: .buckets(hist([5, 0, -3, 1000])))]),
                       #"{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 1}, {"min": 8, "max": 15, "count": 0}, {"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, {"min": 64, "max": 127, "count": 0}, {"min": 128, "max": 255, "count": 0}, {"min": 256, "max": 511, "count": 0}, {"min": 512, "max": 1023, "count": 1}]}}"#)
        XCTAssertEqual(map("h2", .hist).line([.init(key: [], value: .buckets(hist([1024 * 1024])))]),
                       #"{"type": "hist", "data": {"@h2": [{"min": 1048576, "max": 2097151, "count": 1}]}}"#)
        XCTAssertEqual(map("zh", .hist).line([.init(key: [], value: .buckets(hist([])))]), #"{"type": "hist", "data": {"@zh": []}}"#)
        var linear = [UInt64](repeating: 0, count: 12)
        linear[0] = 1; linear[1] = 1; linear[11] = 1
        XCTAssertEqual(map("l", .linearHist(min: 0, max: 100, step: 10)).line([.init(key: [], value: .buckets(linear))]),
                       #"{"type": "hist", "data": {"@l": [{"max": -1, "count": 1}, {"min": 0, "max": 9, "count": 1}, {"min": 10, "max": 19, "count": 0}, {"min": 20, "max": 29, "count": 0}, {"min": 30, "max": 39, "count": 0}, {"min": 40, "max": 49, "count": 0}, {"min": 50, "max": 59, "count": 0}, {"min": 60, "max": 69, "count": 0}, {"min": 70, "max": 79, "count": 0}, {"min": 80, "max": 89, "count": 0}, {"min": 90, "max": 99, "count": 0}, {"min": 100, "count": 1}]}}"#)
        // Keyed histograms: ascending by total count; print(@h, 2) keeps the two largest.
        let keyed = map("h", keys: [NativeField(offset: 0, type: .integer(bits: 64, signed: false))], .hist)
        let entries: [MapText.Entry] = [.init(key: [.unsigned(5)], value: .buckets(hist([1]))),
                                        .init(key: [.unsigned(1)], value: .buckets(hist([1, 1]))),
                                        .init(key: [.unsigned(3)], value: .buckets(hist([1, 1, 1])))]
        XCTAssertEqual(keyed.line(entries),
                       #"{"type": "hist", "data": {"@h": {"5": [{"min": 1, "max": 1, "count": 1}], "1": [{"min": 1, "max": 1, "count": 2}], "3": [{"min": 1, "max": 1, "count": 3}]}}}"#)
        XCTAssertEqual(keyed.line(entries, top: 2),
                       #"{"type": "hist", "data": {"@h": {"1": [{"min": 1, "max": 1, "count": 2}], "3": [{"min": 1, "max": 1, "count": 3}]}}}"#)
    }

    func testStatsAvgAndValueMapsAsBpftrace() {
        let key = [NativeField(offset: 0, type: .integer(bits: 64, signed: false))]
        XCTAssertEqual(map("ks", keys: key, .stats).line([
            .init(key: [.unsigned(5)], value: .stats(count: 1, total: 1)),
            .init(key: [.unsigned(1)], value: .stats(count: 1, total: 100)),
            .init(key: [.unsigned(2)], value: .stats(count: 2, total: 20)),
        ]), #"{"type": "stats", "data": {"@ks": {"5": {"count": 1, "average": 1, "total": 1}, "2": {"count": 2, "average": 10, "total": 20}, "1": {"count": 1, "average": 100, "total": 100}}}}"#)
        XCTAssertEqual(map("avg", .avg).line([.init(key: [], value: .stats(count: 2, total: 15))]),
                       #"{"type": "stats", "data": {"@avg": 7}}"#)
        XCTAssertEqual(map("st", .stats).line([.init(key: [], value: .stats(count: 2, total: 7))]),
                       #"{"type": "stats", "data": {"@st": {"count": 2, "average": 3, "total": 7}}}"#)
        XCTAssertEqual(map("n", .count).line([.init(key: [], value: .scalar(.signed(-7)))], divisor: 2),
                       #"{"type": "map", "data": {"@n": -3}}"#)
        XCTAssertEqual(map("tup", .value(.integer(bits: 64, signed: true))).line([.init(key: [], value: .scalar(.tuple([.signed(1), .text("x")])))]),
                       #"{"type": "map", "data": {"@tup": [1,"x"]}}"#)
        // Several key parts: joined with ",", ordered by key for string values.
        let twoKeys = map("t", keys: [NativeField(offset: 0, type: .string(size: 8)), NativeField(offset: 8, type: .integer(bits: 64, signed: true))],
                          .value(.string(size: 8)))
        XCTAssertEqual(twoKeys.line([.init(key: [.text("zz"), .signed(2)], value: .scalar(.text("x"))),
                                     .init(key: [.text("a"), .signed(9)], value: .scalar(.text("y"))),
                                     .init(key: [.text("a"), .signed(1)], value: .scalar(.text("y")))]),
                       #"{"type": "map", "data": {"@t": {"a,1": "y", "a,9": "y", "zz,2": "x"}}}"#)
        // Integer values ascending; negative keys order numerically among equal values.
        let signedKey = map("neg", keys: [NativeField(offset: 0, type: .integer(bits: 64, signed: true))], .count)
        XCTAssertEqual(signedKey.line([.init(key: [.signed(3)], value: .scalar(.signed(1))),
                                       .init(key: [.signed(-5)], value: .scalar(.signed(1))),
                                       .init(key: [.signed(-100)], value: .scalar(.signed(1)))]),
                       #"{"type": "map", "data": {"@neg": {"-100": 1, "-5": 1, "3": 1}}}"#)
        XCTAssertNil(map("e", keys: [NativeField(offset: 0, type: .integer(bits: 64, signed: true))], .count).line([]),
                     "bpftrace prints nothing for an empty map")
        XCTAssertNil(map("s", .sum).line([]))
        XCTAssertNil(map("h", .hist).line([]))
        XCTAssertNil(map("v", .value(.integer(bits: 64, signed: true))).line([]))
        // …but an empty count() without keys prints 0 (bpftrace 0.17: never counted, or cleared).
        XCTAssertEqual(map("c", .count).line([]), #"{"type": "map", "data": {"@c": 0}}"#)
    }

    func testDamagedPlansAreRefusedNotCrashedOn() {
        var plan = NativePlan(ringBufferBytes: 5000)
        XCTAssertThrowsError(try NativeExtension.validate(plan))
        plan.ringBufferBytes = 1 << 16
        plan.maps = [NativeMap(name: "l", bpfName: "m_l", keyFields: [], keySize: 8, value: .linearHist(min: 0, max: 10, step: 0),
                               valueSize: 8, perCPU: true)]
        XCTAssertThrowsError(try NativeExtension.validate(plan))
        plan.maps = []
        plan.probes = [NativeProbe(programName: "../x", attachPoint: "BEGIN", attach: .begin)]
        XCTAssertThrowsError(try NativeExtension.validate(plan))
        plan.probes = [NativeProbe(programName: "tick", attachPoint: "interval:s:0", attach: .interval(nanoseconds: 0))]
        XCTAssertThrowsError(try NativeExtension.validate(plan))
        plan.probes = [NativeProbe(programName: "tick", attachPoint: "interval:s:1", attach: .interval(nanoseconds: 1_000_000_000))]
        XCTAssertNoThrow(try NativeExtension.validate(plan))
        // Records shorter than the plan says read as zeros.
        let short: [UInt8] = [1, 0]
        let value = short.withUnsafeBytes { ByteReader(bytes: $0).value(.tuple([NativeField(offset: 0, type: .integer(bits: 64, signed: true)),
                                                                                NativeField(offset: 8, type: .string(size: 16))]),
                                                                        at: 0, symbols: Symbolizer()) }
        XCTAssertEqual(value, .tuple([.signed(1), .text("")]))
    }

    // MARK: Symbols and addresses

    func testInetAndUserNames() {
        XCTAssertEqual(Symbolizer.inet(family: 2, address: [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12)), "127.0.0.1")
        XCTAssertEqual(Symbolizer.inet(family: 10, address: [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1]), "fe80::1")
        XCTAssertEqual(Symbolizer.shared.userName(0), "root")
        XCTAssertEqual(Symbolizer.shared.userName(4_000_000_123), "4000000123")
    }

    func testKernelStacksAndSymbolsFromKallsyms() throws {
        let table = Symbolizer.readKallsyms()
        guard let known = table.first(where: { $0.name == "do_sys_openat2" }) ?? table.dropFirst(100).first else {
            throw XCTSkip("/proc/kallsyms shows no addresses to this user")
        }
        let symbols = Symbolizer()
        XCTAssertEqual(symbols.kernelSymbol(known.address + 3), known.name)
        let two = PrintedValue.stack([known.address + 3, known.address].map(symbols.symbolWithOffset))
        XCTAssertEqual(two.keyText, "\n        \(known.name)+3\n        \(known.name)+0\n")
        let bytes: [UInt8] = withUnsafeBytes(of: (known.address + 3).littleEndian) { Array($0) }
        let value = bytes.withUnsafeBytes { ByteReader(bytes: $0).value(.kernelStack(depth: 1), at: 0, symbols: symbols) }
        XCTAssertEqual(value, .stack(["\(known.name)+3"]))
    }

    /// bpftrace 0.17 (checked with the installed one): printf and print() indent frames by 8,
    /// a map key by 4, and an empty stack (a profile sample taken in user mode) is "" in all
    /// three, not a lone newline.
    func testKernelStackTextAsBpftracePrintsIt() {
        let stack = PrintedValue.stack(["do_syscall_64+70", "entry_SYSCALL_64_after_hwframe+118"])
        XCTAssertEqual(stack.keyText, "\n        do_syscall_64+70\n        entry_SYSCALL_64_after_hwframe+118\n")
        XCTAssertEqual(stack.mapKeyText, "\n    do_syscall_64+70\n    entry_SYSCALL_64_after_hwframe+118\n")
        XCTAssertEqual(PrintedValue.tuple([.signed(1), stack]).mapKeyText,
                       "(1, \n    do_syscall_64+70\n    entry_SYSCALL_64_after_hwframe+118\n)")
        let empty = [UInt8](repeating: 0, count: 8 * 4).withUnsafeBytes {
            ByteReader(bytes: $0).value(.kernelStack(depth: 4), at: 0, symbols: Symbolizer())
        }
        XCTAssertEqual(empty.keyText, "")
        XCTAssertEqual(empty.mapKeyText, "")
        XCTAssertEqual(empty.json, "\"\"")
    }
}
