import BpftraceSyntax
import KernelInfo
import SymbolicVerifier
import XCTest

/// The paper's byte-order case: a port read from `struct sock` is in network byte order
/// (`__be16`); printing it without a swap shows the wrong port.
///
/// "Host order" is expressed with plain bpftrace expressions: `$port` is a ghost variable (never
/// assigned) standing for the port the user asked about; the assume says the kernel stores it
/// byte-swapped, and the assert says the printed value is that port.
final class ByteOrderTests: XCTestCase {
    static let types: [String: SemanticType] = [
        "args->sk": .pointer(to: .record(name: "struct sock")),
        "$sk->__sk_common.skc_dport": .integer(bits: 16, signed: false),
    ]

    /// `value` is what is printed, written over `$raw`, the port read once from the socket (two
    /// reads of kernel memory may differ: docs/semantics.md).

    static func program(printing value: String) -> String {
        """
        kfunc:tcp_connect
        {
          $sk = (struct sock *)args->sk;
          $raw = $sk->__sk_common.skc_dport;
          assume($raw == bswap((uint16)$port));
          $dport = \(value);
          printf("connect to port %d\\n", $dport);
          assert($dport == (uint16)$port, "printed port is in host byte order");
        }
        """
    }

    func testPortPrintedWithoutSwapIsViolated() throws {
        let result = try verify(Self.program(printing: "$raw"), types: Self.types)
        expect(result, .violated)
        let values = try XCTUnwrap(result.asserts[0].counterexample?.values)
        let names = values.map(\.name)
        XCTAssertTrue(names.contains("$port"), "\(names)")
        XCTAssertTrue(names.contains("$sk->__sk_common.skc_dport"), "\(names)")
        XCTAssertTrue(names.contains("$dport"), "\(names)")
        let text = result.renderText()
        XCTAssertTrue(text.contains("test.bt:8:3: VIOLATED assert($dport == (uint16)$port, "
                                    + "\"printed port is in host byte order\")"), text)
        XCTAssertEqual(result.exitCode, 1)
    }

    func testPortPrintedWithSwapIsVerified() throws {
        let result = try verify(Self.program(printing: "bswap($raw)"), types: Self.types)
        expect(result, .verified)
        XCTAssertEqual(result.verdict, .verified, result.renderText())
        XCTAssertFalse(result.asserts[0].vacuous)
        XCTAssertEqual(result.exitCode, 0)
    }
}

/// The same case with types from the running kernel's BTF through the real resolver.
final class KernelTypedByteOrderTests: XCTestCase {
    func testByteOrderWithKernelTypes() throws {
        let kernel = KernelInfo.shared()
        guard kernel.btf != nil else { throw XCTSkip("this kernel exposes no BTF (/sys/kernel/btf/vmlinux)") }
        let wrong = VerifyFile.run(source: ByteOrderTests.program(printing: "$raw"),
                                   file: "connect.bt", kernel: kernel)
        guard wrong.exitCode != VerifyFile.frontEndFailure else {
            throw XCTSkip("tcp_connect does not resolve on this kernel: \(wrong.output)")
        }
        XCTAssertEqual(wrong.exitCode, 1, wrong.output)
        XCTAssertTrue(wrong.result?.notes.isEmpty ?? false, "every type should come from BTF: \(wrong.output)")
        XCTAssertTrue(wrong.output.contains("connect.bt:7:34: warning: $dport is __be16 (network byte order) and is "
                                            + "printed as a number without a byte swap"), wrong.output)
        XCTAssertTrue(wrong.output.contains("hint: skc_dport is __be16 (network byte order): print bswap($dport) "
                                            + "for the host-order port"), wrong.output)
        let right = VerifyFile.run(source: ByteOrderTests.program(printing: "bswap($raw)"),
                                   file: "connect.bt", kernel: kernel)
        XCTAssertEqual(right.exitCode, 0, right.output)
        XCTAssertFalse(right.output.contains("network byte order"), right.output)
    }

    /// Ghost variables are accepted in annotations only; an undefined variable in program code
    /// is still a resolution error (exit 3).
    func testUndefinedVariableOutsideAnnotationsStillFails() throws {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil || kernel.btf != nil else { throw XCTSkip("no tracefs or BTF") }
        let source = "tracepoint:syscalls:sys_enter_openat { $x = $never + 1; assert($x > 0); }"
        let outcome = VerifyFile.run(source: source, file: "ghost.bt", kernel: kernel)
        XCTAssertEqual(outcome.exitCode, 3, outcome.output)
        XCTAssertTrue(outcome.output.contains("$never"), outcome.output)
    }
}
