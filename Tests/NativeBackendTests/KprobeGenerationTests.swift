import BPF
import BpftraceSemantics
import BpftraceSyntax
import Foundation
import KernelInfo
import NativeABI
import NativeBackend
import XCTest

/// kprobes are not compiled into this machine's kernel, so the resolver refuses them. To check
/// the code generated for them (arguments and return values from `struct pt_regs`), the
/// resolver is given a tracefs copy that says kprobes exist; the object must still pass the
/// real verifier, which checks kprobe programs without any kprobe being created.
final class KprobeGenerationTests: XCTestCase {
    func testKprobeProgramsReadRegistersAndPassTheVerifier() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load BPF programs") }
        let real = NativeFixtures.kernel
        guard let btf = real.btf, btf.hasFunction("do_sys_openat2") else { throw XCTSkip("needs BTF with do_sys_openat2") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ken-fake-tracefs-\(getpid())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "".write(to: root.appendingPathComponent("available_events"), atomically: true, encoding: .utf8)
        try "".write(to: root.appendingPathComponent("kprobe_events"), atomically: true, encoding: .utf8)
        try "do_sys_openat2\n".write(to: root.appendingPathComponent("available_filter_functions"), atomically: true, encoding: .utf8)
        let kernel = KernelInfo(release: real.release, tracefs: try Tracefs(roots: [root.path], btf: btf), btf: btf)

        let source = #"""
        kprobe:do_sys_openat2 { printf("%d %s %d\n", arg0, str(arg1), arg3); @calls[func] = count(); }
        kretprobe:do_sys_openat2 { @ret = hist((int64)retval); }
        """#
        let parsed = Parser.parse(source: source, file: "kprobe.bt")
        let resolved = Resolver(kernel: kernel).resolve(try XCTUnwrap(parsed.program))
        XCTAssertFalse(resolved.hasErrors, "\(resolved.diagnostics.map(\.message))")
        let artifact = try NativeCompiler(kernel: kernel).compile(resolved)
        XCTAssertEqual(artifact.plan.probes.map(\.attach), [.section, .section])
        XCTAssertTrue(artifact.cSource.contains("SEC(\"kprobe/do_sys_openat2\")"), artifact.cSource)
        XCTAssertTrue(artifact.cSource.contains("SEC(\"kretprobe/do_sys_openat2\")"), artifact.cSource)
        let object = try BPFObject(elf: artifact.object, name: "ken_kprobe")
        XCTAssertEqual(object.programs.map(\.typeName), ["kprobe", "kprobe"])
        try object.load()
    }
}
