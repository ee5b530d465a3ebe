import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import SymbolicVerifier
import XCTest

/// Ken's kernel-value checks on programs typed by the real resolver against this kernel's BTF
/// and tracefs: every use of a network-order value the check knows, followed through
/// variables and casts, and user pointers.
final class KernelValueChecksTests: XCTestCase {
    /// The warnings for `source`, resolved against the running kernel; skips when this kernel
    /// cannot type it (no BTF, no such function or tracepoint).
    func warnings(_ source: String, checks: KernelValueChecks = KernelValueChecks()) throws -> [Diagnostic] {
        let kernel = KernelInfo.shared()
        guard kernel.btf != nil else { throw XCTSkip("this kernel exposes no BTF (/sys/kernel/btf/vmlinux)") }
        let program = try XCTUnwrap(Parser.parse(source: source, file: "check.bt").program)
        let resolved = Resolver(kernel: kernel).resolve(program)
        let typing = resolved.diagnostics.filter { $0.severity == .error && !$0.message.contains("kprobes are not available") }
        guard typing.isEmpty else { throw XCTSkip("this kernel cannot type the program: \(typing.map(\.message))") }
        return checks.warnings(resolved)
    }

    func testMapKeyIsCaught() throws {
        let found = try warnings("kfunc:tcp_connect { @ports[args->sk->__sk_common.skc_dport] = count(); }")
        XCTAssertEqual(found.map(\.message),
                       ["args->sk->__sk_common.skc_dport is __be16 (network byte order) and is used as a map key (printed as a number) without a byte swap"])
        XCTAssertEqual(found.first?.range.start.line, 1)
        XCTAssertEqual(found.first?.range.start.column, 28)
    }

    func testComparisonThroughAVariableIsCaughtUnlessItIsWithZeroOrAnotherNetworkValue() throws {
        let found = try warnings("""
            kfunc:tcp_connect
            {
              $sk = args->sk;
              $port = $sk->__sk_common.skc_dport;
              if ($port == 443) { @https = count(); }
              if ($port != 0) { @any = count(); }
              if ($port == $sk->__sk_common.skc_dport) { @same = count(); }
            }
            """)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found.first?.range.start.line, 5)
        XCTAssertEqual(found.first?.hint,
                       "skc_dport is __be16 (network byte order): compare bswap($port) with the host-order port")
    }

    func testSwapOrReassignmentMakesAHostValue() throws {
        let found = try warnings("""
            kfunc:tcp_connect
            {
              $port = args->sk->__sk_common.skc_dport;
              $port = bswap($port);
              printf("%d %d\\n", $port, bswap(args->sk->__sk_common.skc_dport));
            }
            """)
        XCTAssertEqual(found, [], "the resolver types $port by its first assignment; the check follows the value")
    }

    func testIntegerCastKeepsTheByteOrder() throws {
        let found = try warnings("""
            kfunc:tcp_connect { printf("%u %d\\n", (uint32)args->sk->__sk_common.skc_daddr, (uint64)args->sk->__sk_common.skc_dport); }
            """)
        XCTAssertEqual(found.count, 2, "\(found)")
        XCTAssertTrue(found[0].message.hasPrefix("(uint32)args->sk->__sk_common.skc_daddr is __be32"), found[0].message)
        XCTAssertEqual(found[0].hint, "skc_daddr is __be32 (network byte order): print bswap((uint32)args->sk->__sk_common.skc_daddr) for the host-order value")
        XCTAssertTrue(found[1].message.contains("is __be16"), found[1].message)
    }

    func testUserPointerOfASyscallTracepointIsCaught() throws {
        guard KernelInfo.shared().tracefs != nil else { throw XCTSkip("tracefs is not readable") }
        let found = try warnings("""
            tracepoint:syscalls:sys_enter_openat { printf("%c %s\\n", args.filename[0], str(args.filename)); }
            """)
        XCTAssertEqual(found.map(\.message),
                       ["args.filename is a user-space pointer and is indexed: that reads kernel memory at a user address"])
        XCTAssertEqual(found.first?.hint, "read user memory with str(args.filename) for a string or buf(args.filename, LENGTH) for bytes")
    }

    /// Which kernel-function arguments are user addresses is the contracts' knowledge (BTF
    /// `__user` tags, SYSCALL_DEFINE bodies), handed to the check; through a variable and a
    /// pointer cast it stays a user pointer.
    func testFunctionArgumentDesignatedByTheContractsIsCaught() throws {
        let source = """
            kfunc:do_sys_openat2
            {
              $name = args->filename;
              printf("%c %c\\n", *$name, *(uint8 *)$name);
            }
            """
        XCTAssertEqual(try warnings(source), [], "nothing designates the argument a user pointer")
        let designated = KernelValueChecks(userPointerArguments: [.init(function: "do_sys_openat2", argument: "filename")])
        let found = try warnings(source, checks: designated)
        XCTAssertEqual(found.map(\.message), [
            "$name is a user-space pointer and is dereferenced: that reads kernel memory at a user address",
            "(uint8 *)$name is a user-space pointer and is dereferenced: that reads kernel memory at a user address",
        ])
    }
}
