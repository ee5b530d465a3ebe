import BpftraceSyntax
import Comprehension
import Contracts
import SymbolicVerifier
import TestSupport
import XCTest

/// The paper's TCP-connect case: the request asks for the destination port in host byte order;
/// the candidate prints `skc_dport` (a `__be16`) without a swap. Ken must catch it twice: by its
/// own byte-order check, and by the verifier on the LLM's annotations.
final class TcpConnectCaseTests: XCTestCase {
    static let prompt = "Print the destination port (in host byte order) of every TCP connection the kernel starts."

    static let unswapped = """
        kfunc:tcp_connect
        {
          $sk = args->sk;
          $raw = $sk->__sk_common.skc_dport;
          $dport = $raw;
          printf("connect to port %d\\n", $dport);
        }
        """

    static let swapped = """
        kfunc:tcp_connect
        {
          $sk = args->sk;
          $raw = $sk->__sk_common.skc_dport;
          $dport = bswap($raw);
          printf("connect to port %d\\n", $dport);
        }
        """

    /// About `$raw`, the port as the program read it: a second read of kernel memory could see
    /// another value, so an assert re-reading `skc_dport` would not be provable
    /// (docs/semantics.md).
    static let annotations = """
        kfunc:tcp_connect {
          assert($dport == bswap($raw), "the port is printed in host byte order");
        }
        """

    func testByteOrderCheckWarnsWithHint() async throws {
        let engine = try ComprehensionFixture.engine()
        let result = await engine.annotate(source: Self.unswapped, prompt: Self.prompt)
        let warning = try XCTUnwrap(result.warnings.first, "notes: \(result.notes)")
        XCTAssertEqual(warning.severity, .warning)
        XCTAssertTrue(warning.message.contains("__be16"), warning.message)
        XCTAssertEqual(warning.range.start.line, 6, "points at the printf argument")
        XCTAssertEqual(warning.hint, "skc_dport is __be16 (network byte order): print bswap($dport) for the host-order port")
        XCTAssertTrue(result.notes.contains { $0.contains("no LLM configured") })

        // The cast form of a kprobe is caught the same way, with the expression in the hint.
        let kprobe = """
            kprobe:tcp_connect
            {
              printf("%d\\n", ((struct sock *)arg0)->__sk_common.skc_dport);
            }
            """
        let second = await engine.annotate(source: kprobe, prompt: Self.prompt)
        let hint = try XCTUnwrap(second.warnings.first?.hint)
        XCTAssertEqual(hint, "skc_dport is __be16 (network byte order): print bswap(((struct sock *)arg0)->__sk_common.skc_dport) for the host-order port")

        // Comparing the raw value with a host-order number is the same mistake.
        let filter = """
            kfunc:tcp_connect
            /args->sk->__sk_common.skc_dport == 443/
            {
              @https = count();
            }
            """
        let compared = await engine.annotate(source: filter, prompt: "count TCP connections to port 443")
        let comparison = try XCTUnwrap(compared.warnings.first)
        XCTAssertTrue(comparison.message.contains("compared as a number"), comparison.message)
        XCTAssertEqual(comparison.hint, "skc_dport is __be16 (network byte order): compare bswap(args->sk->__sk_common.skc_dport) with the host-order port")
        let swappedFilter = filter.replacingOccurrences(of: "/args->sk->__sk_common.skc_dport == 443/",
                                                        with: "/bswap(args->sk->__sk_common.skc_dport) == 443/")
        let swappedResult = await engine.annotate(source: swappedFilter, prompt: "count TCP connections to port 443")
        XCTAssertEqual(swappedResult.warnings, [])

        let fixed = await engine.annotate(source: Self.swapped, prompt: Self.prompt)
        XCTAssertEqual(fixed.warnings, [], "bswap gives the host-order value")
    }

    func testKprobeCastFormIsVerifiedToo() async throws {
        let candidate = """
            kprobe:tcp_connect
            {
              $raw = ((struct sock *)arg0)->__sk_common.skc_dport;
              $dport = $raw;
              printf("connect to port %d\\n", $dport);
            }
            """
        let reply = """
            kprobe:tcp_connect {
              assert($dport == bswap($raw), "host byte order");
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(reply), ComprehensionFixture.reply(reply)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let bad = await engine.annotate(source: candidate, prompt: Self.prompt)
        XCTAssertEqual(bad.warnings.count, 1, "Ken's own check needs no attachable kprobe")
        let fixed = candidate.replacingOccurrences(of: "$dport = $raw;", with: "$dport = bswap($raw);")
        let good = await engine.annotate(source: fixed, prompt: Self.prompt)
        XCTAssertEqual(good.warnings, [])
        if FileManager.default.fileExists(atPath: "/sys/kernel/tracing/kprobe_events") {
            XCTAssertEqual(bad.verification?.verdict, .violated, "\(bad.notes)")
            XCTAssertEqual(good.verification?.verdict, .verified, "\(good.notes)")
        } else {
            // The resolver refuses kprobes this kernel cannot attach; the engine says so rather
            // than verifying a program that cannot run.
            XCTAssertNil(bad.verification)
            XCTAssertTrue(bad.notes.contains { $0.contains("nothing was proven") && $0.contains("kprobes are not available") },
                          "\(bad.notes)")
        }
    }

    func testAnnotationNamingAnUnknownMemberIsDropped() async throws {
        let reply = """
            kfunc:tcp_connect {
              assert($sk->__sk_common.skc_no_such_member == 1, "bad member");
              assert($dport == bswap($raw), "the port is printed in host byte order");
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(reply)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: Self.swapped, prompt: Self.prompt)
        XCTAssertEqual(result.annotations.filter { $0.origin == .llm }.map(\.text),
                       ["assert($dport == bswap($raw), \"the port is printed in host byte order\");"],
                       "\(result.notes)")
        XCTAssertTrue(result.notes.contains {
            $0.hasPrefix("dropped annotation assert($sk->__sk_common.skc_no_such_member == 1") && $0.contains("skc_no_such_member")
        }, "\(result.notes)")
        XCTAssertEqual(result.verification?.verdict, .verified)
    }

    func testVerifierCatchesTheMissingSwapOnLLMAnnotations() async throws {
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(Self.annotations),
                                                    ComprehensionFixture.reply(Self.annotations)])
        defer { server.stop() }
        let logs = ComprehensionFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let engine = try ComprehensionFixture.engine(server: server, logDirectory: logs)

        let bad = await engine.annotate(source: Self.unswapped, prompt: Self.prompt)
        XCTAssertTrue(bad.annotatedSource.contains("assert($dport == bswap($raw)"),
                      bad.annotatedSource + "\nnotes: \(bad.notes)")
        let badResult = try XCTUnwrap(bad.verification, "notes: \(bad.notes)")
        XCTAssertEqual(badResult.verdict, .violated, badResult.renderText())
        XCTAssertFalse(bad.warnings.isEmpty)

        let good = await engine.annotate(source: Self.swapped, prompt: Self.prompt)
        let goodResult = try XCTUnwrap(good.verification, "notes: \(good.notes)")
        XCTAssertEqual(goodResult.verdict, .verified, goodResult.renderText())
        XCTAssertEqual(good.warnings, [])

        // The request the LLM saw carries the prompt, the candidate and the byte-order contract.
        let request = try XCTUnwrap(server.requests.first?.jsonObject())
        let messages = try XCTUnwrap(request["messages"] as? [[String: Any]])
        let user = try XCTUnwrap(messages.last?["content"] as? String)
        XCTAssertTrue(user.contains(Self.prompt))
        XCTAssertTrue(user.contains("skc_dport"))
        XCTAssertTrue(user.contains("__be16"))
        XCTAssertTrue(user.contains("kfunc:tcp_connect"))

        // Both annotated programs were logged with their verdicts.
        let entries = try XCTUnwrap(engine.log).entries()
        XCTAssertEqual(entries.map(\.verdict), ["VIOLATED", "VERIFIED"])
        XCTAssertEqual(entries.first?.prompt, Self.prompt)
        XCTAssertEqual(entries.first?.probes, ["kfunc:tcp_connect"])
    }
}
