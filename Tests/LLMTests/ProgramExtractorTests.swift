import LLM
import XCTest

final class ProgramExtractorTests: XCTestCase {
    func testBpftraceBlockIsPreferredOverOtherBlocks() throws {
        let reply = """
        Here is a shell command first:
        ```sh
        sudo bpftrace prog.bt
        ```
        And the program:
        ```bpftrace
        tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filename)); }
        ```
        Done.
        """
        XCTAssertEqual(try ProgramExtractor.extract(from: reply),
                       "tracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->filename)); }\n")
    }

    func testUntaggedBlockIsAccepted() throws {
        XCTAssertEqual(try ProgramExtractor.extract(from: "Sure:\n```\nBEGIN { exit(); }\n```\n"),
                       "BEGIN { exit(); }\n")
    }

    func testReplyWithoutCodeBlockIsAClearError() {
        XCTAssertThrowsError(try ProgramExtractor.extract(from: "I cannot help with that.")) { error in
            XCTAssertEqual(error as? ProgramExtractionError, .noCodeBlock)
            XCTAssertTrue("\(error)".contains("no ``` fenced code block"))
        }
    }

    func testCutOffReplyIsReported() {
        XCTAssertThrowsError(try ProgramExtractor.extract(from: "```bpftrace\nBEGIN {")) { error in
            XCTAssertEqual(error as? ProgramExtractionError, .unterminatedCodeBlock)
        }
        XCTAssertThrowsError(try ProgramExtractor.extract(from: "```bpftrace\n\n```")) { error in
            XCTAssertEqual(error as? ProgramExtractionError, .emptyCodeBlock)
        }
    }
}
