@testable import AgentCore
import Foundation
import KenProto
import KenRPC
import KernelInfo
import XCTest

/// The agent's choice of backend for a checked script: forced bpftrace, required native, and
/// the default that falls back to bpftrace with the generator's reason.
final class BackendChoiceTests: XCTestCase {
    let builder = NativeBuilder()

    func requireKernelFacts() throws {
        guard FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") else { throw XCTSkip("no BTF: the native backend needs it") }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events/syscalls/sys_enter_getppid")
            || FileManager.default.fileExists(atPath: "/sys/kernel/debug/tracing/events/syscalls/sys_enter_getppid") else {
            throw XCTSkip("syscall tracepoints are not readable (tracefs, root)")
        }
        guard FileManager.default.isExecutableFile(atPath: builder.clangPath) else { throw XCTSkip("clang is not installed") }
    }

    func testForcedBpftraceCompilesNothing() throws {
        // No kernel facts are read for a forced bpftrace choice, so this runs anywhere.
        let choice = try builder.choose("tracepoint:syscalls:sys_enter_getppid { @ = count(); }", requested: .bpftrace, uid: 0)
        XCTAssertEqual(choice.backend, .bpftrace)
        XCTAssertEqual(choice.reason, NativeBuilder.forcedReason)
        XCTAssertNil(choice.artifact)
        XCTAssertThrowsError(try builder.choose("BEGIN { }", requested: .UNRECOGNIZED(7), uid: 0)) {
            XCTAssertEqual(($0 as? RPCStatusError)?.code, .invalidArgument)
        }
    }

    func testDefaultIsNativeAndFallsBackWithTheReason() throws {
        try requireKernelFacts()
        let native = try builder.choose("tracepoint:syscalls:sys_enter_getppid { printf(\"%d\\n\", pid); }", requested: .unspecified, uid: 0)
        let artifact = try XCTUnwrap(native.artifact, native.reason)
        XCTAssertEqual(native.backend, .native)
        XCTAssertEqual(native.reason, "")
        XCTAssertEqual(artifact.kernelRelease, KernelInfo.runningRelease())
        XCTAssertEqual(artifact.object.prefix(4), [0x7F, 0x45, 0x4C, 0x46])
        XCTAssertFalse(artifact.plan.probes.isEmpty)

        let ustack = "tracepoint:syscalls:sys_enter_getppid { @[ustack] = count(); }"
        let fallback = try builder.choose(ustack, requested: .unspecified, uid: 0)
        XCTAssertEqual(fallback.backend, .bpftrace)
        XCTAssertTrue(fallback.reason.contains("ustack"), fallback.reason)
        XCTAssertThrowsError(try builder.choose(ustack, requested: .native, uid: 0)) {
            let status = $0 as? RPCStatusError
            XCTAssertEqual(status?.code, .failedPrecondition)
            XCTAssertTrue(status?.message.contains("ustack") ?? false, "\($0)")
        }
        // A script the agent's resolver refuses is not a crash: it runs on bpftrace, which
        // reports its own error.
        let unresolved = builder.compile("tracepoint:syscalls:sys_enter_getppid { printf(\"%s\\n\", str(args->nosuchfield)); }")
        XCTAssertEqual(unresolved.backend, .bpftrace)
        XCTAssertTrue(unresolved.reason.contains("does not resolve"), unresolved.reason)
    }

    /// A verify-only then an attach of the same text by the same user compiles once; another
    /// user, another text or another kernel release is another entry; the bounds hold.
    func testTheAttachAfterAVerifyReusesTheObjectForTheSameUserOnly() throws {
        try requireKernelFacts()
        let builder = NativeBuilder()
        let text = "tracepoint:syscalls:sys_enter_getppid { @calls = count(); }"
        let first = try XCTUnwrap(try builder.choose(text, requested: .unspecified, uid: 1000).artifact)
        XCTAssertEqual(builder.cache.statistics.misses, 1)
        let again = try XCTUnwrap(try builder.choose(text, requested: .native, uid: 1000).artifact)
        XCTAssertEqual(again, first)
        XCTAssertEqual(builder.cache.statistics.hits, 1, "the attach after the verify reuses the object")
        _ = try builder.choose(text, requested: .unspecified, uid: 1001)
        XCTAssertEqual(builder.cache.statistics.hits, 1, "another user's call compiles its own")
        XCTAssertEqual(builder.cache.statistics.entries, 2)
        _ = try builder.choose("tracepoint:syscalls:sys_enter_getppid { @calls = count(); } ", requested: .unspecified, uid: 1000)
        XCTAssertEqual(builder.cache.statistics.entries, 3, "another text is another entry")
        XCTAssertNotEqual(NativeArtifactCache.key(text: text, uid: 1000, kernelRelease: "6.1.0"),
                          NativeArtifactCache.key(text: text, uid: 1000, kernelRelease: "6.18.0"))
        // A refusal is never cached: it is found again, cheaply.
        _ = try builder.choose("tracepoint:syscalls:sys_enter_getppid { @[ustack] = count(); }", requested: .unspecified, uid: 1000)
        XCTAssertEqual(builder.cache.statistics.entries, 3)

        let small = NativeArtifactCache(maxEntries: 2, maxBytes: 1 << 20)
        for uid in UInt32(1)...3 { small.store(first, for: NativeArtifactCache.key(text: text, uid: uid)) }
        XCTAssertEqual(small.statistics.entries, 2, "the oldest entry goes first")
        XCTAssertNil(small.artifact(for: NativeArtifactCache.key(text: text, uid: 1)))
        XCTAssertNotNil(small.artifact(for: NativeArtifactCache.key(text: text, uid: 3)))
        let tiny = NativeArtifactCache(maxEntries: 8, maxBytes: 100)
        tiny.store(first, for: NativeArtifactCache.key(text: text, uid: 1))
        XCTAssertEqual(tiny.statistics.entries, 0, "an artifact larger than the byte bound is not kept")
    }

    func testAClangFailureFallsBackWithItsLogInTheNote() throws {
        try requireKernelFacts()
        // A clang that always fails stands in for a generator bug clang rejects.
        let failing = NativeBuilder(clangPath: "/bin/false")
        let choice = failing.compile("tracepoint:syscalls:sys_enter_getppid { @ = count(); }")
        guard case let .bpftrace(reason, note) = choice else { return XCTFail("expected a fallback, got \(choice.backend)") }
        XCTAssertTrue(reason.contains("clang"), reason)
        XCTAssertNotNil(note)
    }
}
