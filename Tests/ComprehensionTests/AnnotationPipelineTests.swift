import BpftraceSyntax
import Comprehension
import Contracts
import SymbolicVerifier
import TestSupport
import XCTest

/// Contract assumes, Ken's user-pointer check, dropping invalid LLM annotations with notes, and
/// the one regeneration of vacuous ones — all against the real kernel's contracts.
final class AnnotationPipelineTests: XCTestCase {
    func testContractAssumesAreInsertedAtProbeStart() async throws {
        let engine = try ComprehensionFixture.engine()
        let source = """
            tracepoint:syscalls:sys_exit_openat
            /args->ret < 0/
            {
              @errors[pid, -args->ret] = count();
            }
            """
        let result = await engine.annotate(source: source, prompt: "count failed opens by pid and errno")
        let program = try XCTUnwrap(result.annotatedProgram)
        let body = program.probes[0].body.statements
        XCTAssertEqual(body.count, 3, result.annotatedSource)
        XCTAssertEqual(Printer.print(body[0]).trimmingCharacters(in: .whitespacesAndNewlines), "assume(args->ret >= -4095);")
        XCTAssertEqual(Printer.print(body[1]).trimmingCharacters(in: .whitespacesAndNewlines), "assume(pid >= 0 && pid <= 4194304);")
        XCTAssertEqual(result.annotations.map(\.origin), [.contract, .contract])
        XCTAssertEqual(result.warnings, [])
        // The annotated program parses again and, stripped, is the candidate.
        let reparsed = try XCTUnwrap(Parser.parse(source: result.annotatedSource, file: "a.bt").program)
        let original = try XCTUnwrap(Parser.parse(source: source, file: "c.bt").program)
        XCTAssertTrue(stripAnnotations(reparsed).isStructurallyEqual(to: original))
        // No assert: the verifier ran and says nothing was proven (never a pass).
        XCTAssertEqual(result.verification?.verdict, .unknown)
    }

    func testKretfuncReturnValueGetsTheErrnoConvention() async throws {
        let engine = try ComprehensionFixture.engine()
        let result = await engine.annotate(source: "kretfunc:__x64_sys_openat { @results[retval] = count(); }",
                                           prompt: "count openat results")
        XCTAssertTrue(result.annotatedSource.contains("assume(retval >= -4095);"), result.annotatedSource + "\n\(result.notes)")
        XCTAssertFalse(result.notes.contains { $0.hasPrefix("dropped annotation assume(retval") }, "\(result.notes)")
        // A kretprobe's retval is a raw register: no range is claimed for it.
        let raw = await engine.annotate(source: "kretprobe:__x64_sys_openat { @results[retval] = count(); }",
                                        prompt: "count openat results")
        XCTAssertFalse(raw.annotatedSource.contains("assume(retval"), raw.annotatedSource)
    }

    func testEnumTypedFieldGetsItsEnumeratorRange() async throws {
        let engine = try ComprehensionFixture.engine()
        let store = try ComprehensionFixture.store()
        guard let contract = try store.contract(forProbe: "tracepoint:timer:hrtimer_start"),
              let mode = contract.argument(named: "mode"), mode.kind == .enumeration else {
            throw XCTSkip("this kernel has no enum-typed timer:hrtimer_start mode field")
        }
        let range = try XCTUnwrap(mode.range)
        XCTAssertEqual(mode.enumName, "hrtimer_mode")
        let result = await engine.annotate(source: "tracepoint:timer:hrtimer_start { @modes[args->mode] = count(); }",
                                           prompt: "count hrtimer starts by mode")
        XCTAssertTrue(result.annotatedSource.contains("assume(args->mode >= \(range.min) && args->mode <= \(range.max));"),
                      result.annotatedSource)
    }

    func testUserPointerDereferenceIsWarned() async throws {
        let engine = try ComprehensionFixture.engine()
        let bad = """
            tracepoint:syscalls:sys_enter_openat
            {
              $first = args->filename[0];
              printf("%d\\n", $first);
            }
            """
        let result = await engine.annotate(source: bad, prompt: "print the first byte of each opened path")
        let warning = try XCTUnwrap(result.warnings.first)
        XCTAssertTrue(warning.message.contains("user-space pointer"), warning.message)
        XCTAssertEqual(warning.range.start.line, 3)
        XCTAssertEqual(warning.hint, "read user memory with str(args->filename) for a string or buf(args->filename, LENGTH) for bytes")

        let good = """
            tracepoint:syscalls:sys_enter_openat
            {
              printf("%s\\n", str(args->filename));
            }
            """
        let fine = await engine.annotate(source: good, prompt: "print each opened path")
        XCTAssertEqual(fine.warnings, [])
    }

    /// Which kernel-function arguments hold user addresses is what the contracts add to the
    /// resolver's types: a SYSCALL_DEFINE body's pointer arguments are the syscall's own.
    func testUserPointerArgumentOfASyscallBodyComesFromTheContracts() async throws {
        let engine = try ComprehensionFixture.engine()
        guard let contract = try engine.contracts.contract(for: try XCTUnwrap(ProbeSpec("kfunc:__do_sys_add_key"))),
              contract.argument(named: "_type")?.isUserPointer == true else {
            throw XCTSkip("this kernel has no __do_sys_add_key(const char __user *_type, …) in BTF")
        }
        let source = """
            kfunc:__do_sys_add_key
            {
              $type = args->_type;
              printf("%c %s\\n", *$type, str($type));
            }
            """
        let result = await engine.annotate(source: source, prompt: "print the first letter of each key type added")
        XCTAssertEqual(result.warnings.map(\.message),
                       ["$type is a user-space pointer and is dereferenced: that reads kernel memory at a user address"],
                       "\(result.notes)")
        XCTAssertEqual(result.warnings.first?.range.start.line, 4)
    }

    static let candidate = """
        tracepoint:syscalls:sys_enter_kill
        {
          $sig = args->sig;
          @kills[$sig] = count();
        }
        """

    func testInvalidLLMAnnotationsAreDroppedWithNotes() async throws {
        let reply = """
            tracepoint:syscalls:sys_enter_kill {
              assume(args->sig >= 0);
              assert($sig == args->sig, "the signal counted is the one sent");
              assert($nosuch == 1, "unknown variable");
              assert(args->nosuchfield == 2, "unknown field");
              assert(printf("x") == 0, "effect");
            }
            tracepoint:syscalls:sys_enter_tkill {
              assert(args->sig == 9);
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(reply)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: Self.candidate, prompt: "count signals sent, by signal number")
        let kept = result.annotations.filter { $0.origin == .llm }.map(\.text)
        XCTAssertEqual(kept, ["assume(args->sig >= 0);", "assert($sig == args->sig, \"the signal counted is the one sent\");"],
                       "notes: \(result.notes)")
        let notes = result.notes.joined(separator: "\n")
        XCTAssertTrue(notes.contains("$nosuch, which the probe never assigns"), notes)
        XCTAssertTrue(notes.contains("args.nosuchfield is not an argument"), notes)
        XCTAssertTrue(notes.contains("calls printf()"), notes)
        XCTAssertTrue(notes.contains("sys_enter_tkill: the candidate has no such probe"), notes)
        XCTAssertEqual(result.verification?.verdict, .verified, result.verification?.renderText() ?? "")
    }

    func testReplyThatChangesTheProgramOrDoesNotParseIsHandled() async throws {
        let changed = """
            tracepoint:syscalls:sys_enter_kill
            {
              $sig = 9;
              @kills[$sig] = count();
              assert($sig == 9);
            }
            """
        let broken = """
            tracepoint:syscalls:sys_enter_kill {
              assert($sig == args->sig, "kept: this line parses");
              assert($sig == == 3);
            }
            """
        let server = try ScriptedLLMServer(script: [ComprehensionFixture.reply(changed), ComprehensionFixture.reply(broken)])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)

        let first = await engine.annotate(source: Self.candidate, prompt: "count signals")
        XCTAssertEqual(first.annotations.filter { $0.origin == .llm }, [])
        XCTAssertTrue(first.notes.contains { $0.contains("changes the program itself") }, "\(first.notes)")

        let second = await engine.annotate(source: Self.candidate, prompt: "count signals")
        XCTAssertEqual(second.annotations.filter { $0.origin == .llm }.map(\.text),
                       ["assert($sig == args->sig, \"kept: this line parses\");"], "\(second.notes)")
        XCTAssertTrue(second.notes.contains { $0.contains("does not parse as a whole") }, "\(second.notes)")
        XCTAssertTrue(second.notes.contains { $0.contains("does not parse: assert($sig == == 3);") }, "\(second.notes)")
    }

    func testVacuousAnnotationsAreRegeneratedOnceThenDropped() async throws {
        let tautology = """
            tracepoint:syscalls:sys_enter_kill {
              assert(1 == 1, "always true");
            }
            """
        let meaningful = """
            tracepoint:syscalls:sys_enter_kill {
              assert($sig == args->sig, "the counted signal is the sent one");
            }
            """
        let server = try ScriptedLLMServer(script: [
            ComprehensionFixture.reply(tautology), ComprehensionFixture.reply(meaningful),
            ComprehensionFixture.reply(tautology), ComprehensionFixture.reply(tautology),
        ])
        defer { server.stop() }
        let logs = ComprehensionFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let engine = try ComprehensionFixture.engine(server: server, logDirectory: logs)

        let regenerated = await engine.annotate(source: Self.candidate, prompt: "count signals by number")
        XCTAssertEqual(regenerated.annotations.filter { $0.origin == .llm }.map(\.text),
                       ["assert($sig == args->sig, \"the counted signal is the sent one\");"], "\(regenerated.notes)")
        XCTAssertEqual(regenerated.verification?.verdict, .verified)
        XCTAssertEqual(server.requests.count, 2)
        // The second request says why the first answer was rejected.
        let second = try XCTUnwrap(server.requests[1].jsonObject()?["messages"] as? [[String: Any]])
        let followUp = try XCTUnwrap(second.last?["content"] as? String)
        XCTAssertTrue(followUp.contains("assert(1 == 1, \"always true\");"), followUp)
        XCTAssertTrue(followUp.contains("prove nothing"), followUp)
        XCTAssertEqual(second.count, 4, "system, user, the rejected reply, the follow-up")

        let dropped = await engine.annotate(source: Self.candidate, prompt: "count signals by number")
        XCTAssertEqual(dropped.annotations.filter { $0.origin == .llm }, [])
        XCTAssertTrue(dropped.notes.contains { $0.hasPrefix("dropped vacuous annotation assert(1 == 1") }, "\(dropped.notes)")
        XCTAssertEqual(server.requests.count, 4, "exactly one regeneration per annotate call")

        let entries = try XCTUnwrap(engine.log).entries()
        XCTAssertEqual(entries.map(\.attempt), [1, 2, 1, 2, 3])
        XCTAssertTrue(entries[0].asserts.first?.vacuous ?? false)
    }

    func testContradictoryAssumesAreRejected() async throws {
        let contradictory = """
            tracepoint:syscalls:sys_enter_kill {
              assume(args->sig == 9);
              assume(args->sig == 15);
              assert($sig == args->sig, "the counted signal is the sent one");
            }
            """
        let server = try ScriptedLLMServer(script: [
            ComprehensionFixture.reply(contradictory), ComprehensionFixture.reply(contradictory),
        ])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: Self.candidate, prompt: "count signals by number")
        XCTAssertEqual(server.requests.count, 2, "one regeneration")
        let followUp = try XCTUnwrap((server.requests[1].jsonObject()?["messages"] as? [[String: Any]])?.last?["content"] as? String)
        XCTAssertTrue(followUp.contains("assume(args->sig == 9);"), followUp)
        XCTAssertTrue(followUp.contains("contradict"), followUp)
        // Still contradictory after the second answer: the assumes are dropped, the assert stays.
        let llm = result.annotations.filter { $0.origin == .llm }.map(\.text)
        XCTAssertEqual(llm, ["assert($sig == args->sig, \"the counted signal is the sent one\");"], "\(result.notes)")
        XCTAssertTrue(result.notes.contains { $0.hasPrefix("dropped vacuous annotation assume(args->sig == 9);") }, "\(result.notes)")
        XCTAssertEqual(result.verification?.verdict, .verified)
    }

    func testLLMFailureFallsBackToContractAnnotations() async throws {
        let server = try ScriptedLLMServer(script: [.error(status: 400, message: "bad request")])
        defer { server.stop() }
        let engine = try ComprehensionFixture.engine(server: server)
        let result = await engine.annotate(source: "tracepoint:syscalls:sys_exit_read { @[pid] = sum(args->ret); }",
                                           prompt: "bytes read per process")
        XCTAssertTrue(result.notes.contains { $0.contains("LLM request for annotations failed") }, "\(result.notes)")
        XCTAssertEqual(result.annotations.map(\.origin), [.contract, .contract])
    }

    func testUnparsableCandidate() async throws {
        let engine = try ComprehensionFixture.engine()
        let result = await engine.annotate(source: "kfunc:tcp_connect { printf(", prompt: "x")
        XCTAssertNil(result.annotatedProgram)
        XCTAssertFalse(result.warnings.isEmpty)
        XCTAssertNil(result.verification)
    }
}
