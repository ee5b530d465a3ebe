import Bench
import Foundation
import KernelInfo
import XCTest

/// What every differential test needs: a harness (or a skip with the reason), and a list of
/// known differences printed at the end of the test rather than failed on.
///
/// A known difference is where bpftrace 0.17 and the documented semantics (docs/semantics.md)
/// disagree, or where the native backend does not yet match bpftrace. Each is named, so the
/// output says exactly which rule or program differs and how; none is hidden.
class DifferentialTestCase: XCTestCase {
    private(set) var knownDifferences: [String] = []

    /// The harness, or XCTSkip when this machine cannot run both sides (not root, no BTF, no
    /// bpftrace, no clang), or when the native backend is not built into this tree yet.
    func makeHarness() throws -> DifferentialHarness {
        let kernel = KernelInfo.shared()
        if let reason = DifferentialHarness.unavailableReason(kernel: kernel) { throw XCTSkip(reason) }
        let harness = try DifferentialHarness(kernel: kernel)
        if let missing = harness.nativeBackendMissing() {
            harness.close()
            throw XCTSkip("the native backend is not built in this tree: \(missing)")
        }
        return harness
    }

    func recordKnownDifference(_ name: String, _ detail: String) {
        knownDifferences.append("\(name): \(detail)")
    }

    override func tearDown() {
        if !knownDifferences.isEmpty {
            print("KNOWN DIFFERENCES (\(name), \(knownDifferences.count)):")
            for item in knownDifferences { print("  - " + item.replacingOccurrences(of: "\n", with: "\n    ")) }
        }
        knownDifferences = []
        super.tearDown()
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
