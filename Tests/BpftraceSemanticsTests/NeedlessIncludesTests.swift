import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import XCTest

/// Includes that BTF makes needless are dropped, saying so; needed ones whose header is missing
/// are named, with the BTF form to use instead (issue 15, item 2).
final class NeedlessIncludesTests: XCTestCase {
    func requireKernel() throws -> KernelInfo {
        let kernel = KernelInfo.shared()
        guard kernel.tracefs != nil, kernel.btf != nil else {
            throw XCTSkip("tracefs or BTF unavailable: \(kernel.problems)")
        }
        return kernel
    }

    /// An LLM habit: a header for a struct BTF already has.
    static let needless = """
        #include <uapi/linux/ptrace.h>
        #include <linux/sched.h>
        tracepoint:sched:sched_process_exec
        {
          $task = (struct task_struct *)curtask;
          printf("%d\\n", $task->pid);
        }
        """

    func testIncludesDroppedWhenBTFGivesEveryType() throws {
        let kernel = try requireKernel()
        let result = Checker.check(source: Self.needless, file: "t.bt", kernel: kernel)
        XCTAssertFalse(result.hasErrors, Checker.renderText([result]))
        XCTAssertEqual(result.droppedIncludes.compactMap(\.name).count, 2)
        let warnings = result.diagnostics.filter { $0.severity == .warning && $0.message.contains("dropped") }
        XCTAssertEqual(warnings.count, 2, Checker.renderText([result]))
        XCTAssertEqual(warnings.first?.range.start.line, 1)
        XCTAssertTrue(warnings.first?.message.contains("resolves from the kernel's BTF") ?? false)
        // Lowering prints the program without them.
        let printed = Printer.print(try XCTUnwrap(result.resolved?.program), dialect: .v0_17).text
        XCTAssertFalse(printed.contains("#include"), printed)
        XCTAssertTrue(printed.contains("struct task_struct"), printed)
        // What kenc attach sends keeps every other line where it was.
        let sent = NeedlessIncludes.removing(result.droppedIncludes, from: Self.needless)
        XCTAssertEqual(sent.split(separator: "\n", omittingEmptySubsequences: false).count,
                       Self.needless.split(separator: "\n", omittingEmptySubsequences: false).count)
        XCTAssertFalse(sent.contains("#include"))
    }

    /// A macro from a header is more than BTF gives: the include is needed, and where the
    /// header is missing the error names it and the BTF form.
    func testNeededIncludeWithMissingHeaderIsNamed() throws {
        let kernel = try requireKernel()
        let source = """
            #include <ken/no_such_header_here.h>
            tracepoint:syscalls:sys_enter_socket
            /args->family == KEN_NO_SUCH_MACRO/
            {
              @n = count();
            }
            """
        let parsed = try XCTUnwrap(Parser.parse(source: source, file: "m.bt").program)
        let resolved = Resolver(kernel: kernel).resolve(parsed)
        guard case let .missingHeaders(errors) = NeedlessIncludes.analyse(parsed, resolved: resolved, kernel: kernel,
                                                                          headerExists: { _ in false }) else {
            return XCTFail("a needed, missing header must be reported")
        }
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].message.contains("<ken/no_such_header_here.h> is not installed"), errors[0].message)
        XCTAssertTrue(errors[0].message.contains("KEN_NO_SUCH_MACRO"), errors[0].message)
        XCTAssertTrue(errors[0].hint?.contains("BTF") ?? false)
        // Installed: the program is left as written.
        guard case .unchanged = NeedlessIncludes.analyse(parsed, resolved: resolved, kernel: kernel, headerExists: { _ in true }) else {
            return XCTFail("a needed, installed header stays")
        }
    }

    func testProgramWithoutIncludesIsUnchanged() throws {
        let kernel = try requireKernel()
        let parsed = try XCTUnwrap(Parser.parse(source: "BEGIN { exit(); }\n", file: "b.bt").program)
        guard case .unchanged = NeedlessIncludes.analyse(parsed, resolved: Resolver(kernel: kernel).resolve(parsed),
                                                         kernel: kernel, headerExists: { _ in false }) else {
            return XCTFail("nothing to do")
        }
    }
}
