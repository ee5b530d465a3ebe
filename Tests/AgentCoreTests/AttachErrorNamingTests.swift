import KenClient
import XCTest

/// bpftrace reports the agent's copy of a script; kenc names the user's file instead.
final class AttachErrorNamingTests: XCTestCase {
    func testAgentScriptPathsBecomeTheUsersFile() {
        let error = ClientError(
            .failure,
            "bpftrace exited with code 1 before attaching: /var/lib/ken/extensions/7a3e51c720cb/script.bt:2:3-9: ERROR: Unknown function: prinf",
            detail: "/var/lib/ken/extensions/7a3e51c720cb/script.bt:2:3-9: ERROR: Unknown function: prinf\n  prinf(\"x\");\n",
            hint: "h")
        let named = error.naming(script: "opens.bt")
        XCTAssertEqual(named.message, "bpftrace exited with code 1 before attaching: opens.bt:2:3-9: ERROR: Unknown function: prinf")
        XCTAssertTrue(named.detail.hasPrefix("opens.bt:2:3-9: ERROR"), named.detail)
        XCTAssertEqual(named.hint, "h")
        XCTAssertEqual(named.exit, error.exit)
        // Other paths are left alone.
        let other = ClientError(.failure, "/tmp/extensions/notes.txt: no").naming(script: "x.bt")
        XCTAssertEqual(other.message, "/tmp/extensions/notes.txt: no")
    }
}
