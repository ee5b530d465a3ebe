import BpftraceSemantics
import BpftraceSyntax
import Foundation
import NativeABI
import NativeBackend
import XCTest

/// What the generator does not support is refused with a short reason (shown by the agent as
/// `backend: bpftrace (REASON)`), never compiled wrongly; bad programs and clang failures are
/// errors of their own kinds.
final class UnsupportedTests: XCTestCase {
    static let cases: [(program: String, reason: String)] = [
        ("BEGIN { printf(\"%s\\n\", ustack); }", "builtin ustack"),
        ("BEGIN { system(\"ls\"); }", "system()"),
        ("BEGIN { cat(\"/etc/hostname\"); }", "cat()"),
        ("BEGIN { @x[1] = 1; for ($kv : @x) { printf(\"%d\\n\", 1); } }", "for over a map"),
        ("BEGIN { printf(\"%s\\n\", usym(0)); }", "usym()"),
        ("BEGIN { printf(\"%s\\n\", strftime(\"%H\", nsecs)); }", "strftime()"),
        ("BEGIN { printf(\"%d\\n\", $1); }", "positional parameters"),
        ("BEGIN { @c = avg(2); if (@c > 1) { exit(); } }", "reading the aggregation @c in the program"),
        ("struct foo { int a; };\nBEGIN { exit(); }", "C type definitions in the program"),
        ("usdt:/bin/bash:main { exit(); }", "usdt probes"),
        ("BEGIN { $x = 1; printf(\"%d\\n\", &$x); }", "address-of (&)"),
        ("interval:s:99999999999999 { exit(); }", "interval period 's:99999999999999'"),
    ]

    func testUnsupportedFeaturesAreRefusedWithTheirReason() throws {
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel)
        for (program, reason) in Self.cases {
            let resolution = NativeFixtures.resolve(program)
            guard case let .resolved(resolved) = resolution else {
                XCTFail("\(program): \(resolution)")
                continue
            }
            XCTAssertThrowsError(try compiler.generate(resolved), program) { error in
                guard case let .unsupported(u) = error as? NativeCompileError else {
                    return XCTFail("\(program): \(error) is not .unsupported")
                }
                XCTAssertEqual(u.reason, reason, program)
            }
        }
    }

    func testUnresolvedProgramsAreNotGenerated() throws {
        let parsed = BpftraceSyntax.Parser.parse(source: "tracepoint:nosuch:thing { exit(); }", file: "t.bt")
        let resolved = Resolver(kernel: NativeFixtures.kernel).resolve(try XCTUnwrap(parsed.program))
        XCTAssertThrowsError(try NativeCompiler(kernel: NativeFixtures.kernel).generate(resolved)) { error in
            guard case .unresolved = error as? NativeCompileError else { return XCTFail("\(error)") }
        }
    }

    /// clang exiting without reading its input: a clear error, and no SIGPIPE (the C of a
    /// 300-tracepoint wildcard is far larger than a pipe's buffer).
    func testAFailingClangIsReportedAsSuch() throws {
        let resolved = try NativeFixtures.resolved("tracepoint:syscalls:sys_enter_* { @[probe] = count(); }")
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel, clangPath: "/bin/false")
        XCTAssertThrowsError(try compiler.compile(resolved)) { error in
            guard case let .clang(message) = error as? NativeCompileError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("status 1"), message)
        }
    }

    /// With SIGPIPE at its default action (as in ken-bench and tests), a clang that exits
    /// without reading anything is an error: the source goes to clang as a file, so nothing is
    /// written into a pipe whose reader is gone. The private directory is removed afterwards.
    func testAnEarlyExitingClangRaisesNoSIGPIPEWithTheDefaultAction() throws {
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
            .filter { $0.hasPrefix("ken-clang-") }
        let resolved = try NativeFixtures.resolved("tracepoint:syscalls:sys_enter_* { @[probe] = count(); }")
        for clang in ["/bin/false", "/bin/true"] {
            let compiler = NativeCompiler(kernel: NativeFixtures.kernel, clangPath: clang)
            XCTAssertThrowsError(try compiler.compile(resolved)) { error in
                guard case .clang = error as? NativeCompileError else { return XCTFail("\(error)") }
            }
        }
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
            .filter { $0.hasPrefix("ken-clang-") }
        XCTAssertTrue(after.subtracting(before).isEmpty, "left \(after.subtracting(before))")
    }

    func testMissingClangIsAClearError() throws {
        let resolved = try NativeFixtures.resolved("BEGIN { exit(); }")
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel, clangPath: "/nonexistent/clang")
        XCTAssertThrowsError(try compiler.compile(resolved)) { error in
            guard case let .clang(message) = error as? NativeCompileError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("/nonexistent/clang"), message)
        }
    }
}
