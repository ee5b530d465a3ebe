import BpftraceSyntax
import Foundation
import KernelInfo

/// `#include`s that BTF makes unnecessary.
///
/// LLM-written programs often `#include <linux/sched.h>` or `<uapi/linux/ptrace.h>` out of
/// habit, and bpftrace hands them to clang, which fails on a machine without kernel headers
/// (`'uapi/linux/ptrace.h' file not found`) although every type the program uses is in the
/// running kernel's BTF. So: when the program resolves just as well with its includes removed,
/// they are dropped (with a warning saying so); when it does not, and a header it includes is
/// not installed, the error names the header, what needs it, and the BTF form to use instead.
public enum NeedlessIncludes {
    public enum Outcome: Sendable {
        /// No `#include`s, or they are needed and installed.
        case unchanged
        /// Every include was needless: the program and its resolution without them, and one
        /// warning per dropped include.
        case dropped(ResolvedProgram, [Diagnostic])
        /// An include is needed and its header is missing here: one error per missing header.
        case missingHeaders([Diagnostic])
    }

    /// Where clang, run by bpftrace, finds kernel headers for `release`.
    public static func headerRoots(release: String) -> [String] {
        ["/lib/modules/\(release)/build/include", "/lib/modules/\(release)/source/include",
         "/lib/modules/\(release)/build/arch/x86/include/generated", "/usr/src/linux-headers-\(release)/include",
         "/usr/include", "/usr/include/\(machineTriple)", "/usr/local/include"]
    }

    /// Debian's multiarch include directory name (`x86_64-linux-gnu`), where `sys/socket.h` lives.
    static var machineTriple: String {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return machine + "-linux-gnu"
    }

    /// Decides for `program` (already resolved as `resolved`) against `kernel`.
    /// `headerExists` answers whether a header (`linux/sched.h`) is installed.
    public static func analyse(_ program: Program, resolved: ResolvedProgram, kernel: KernelInfo,
                               headerExists: (String) -> Bool) -> Outcome {
        let includes = program.preamble.filter { $0.kind == .include }
        guard !includes.isEmpty, kernel.btf != nil else { return .unchanged }
        // Only header names (`linux/sched.h`) are judged; an absolute path or one with `..` is
        // not a kernel header, and what may be included is the agent's policy to decide.
        guard includes.allSatisfy({ headerName($0).map { !$0.hasPrefix("/") && !$0.contains("..") } ?? false }) else {
            return .unchanged
        }
        var stripped = program
        stripped.preamble.removeAll { $0.kind == .include }
        let without = Resolver(kernel: kernel).resolve(stripped)
        // Errors the program has anyway are not the includes' doing; only new ones are.
        let existing = Set(resolved.diagnostics.filter { $0.severity == .error }.map { "\($0.range.start.offset):\($0.message)" })
        let needs = without.diagnostics.filter { $0.severity == .error && !existing.contains("\($0.range.start.offset):\($0.message)") }
        if needs.isEmpty {
            let notes = includes.map { item in
                Diagnostic.warning("\(item.text.trimmingCharacters(in: .whitespaces)) dropped: every type this program uses resolves from the kernel's BTF",
                                   at: item.range,
                                   hint: "remove it: bpftrace would hand it to clang, which fails where kernel headers are not installed")
            }
            return .dropped(without, notes)
        }
        // Includes under #if/#ifdef (the installed tools choose headers by BPFTRACE_HAVE_BTF)
        // depend on what clang defines: Ken does not guess which branch is taken.
        guard !program.preamble.contains(where: { $0.kind == .preprocessor }) else { return .unchanged }
        let missing = includes.filter { item in
            guard let header = headerName(item) else { return false }
            return !headerExists(header)
        }
        guard !missing.isEmpty else { return .unchanged }
        let uses = needs.prefix(3).map { "'\($0.message)' at line \($0.range.start.line)" }.joined(separator: ", ")
        return .missingHeaders(missing.map { item in
            let header = headerName(item) ?? item.text
            return Diagnostic.error("header <\(header)> is not installed on this machine, and the program needs more than BTF gives: \(uses)",
                                    at: item.range,
                                    hint: "use the BTF form: struct and union types (struct task_struct, …) and enum constants come from the running kernel without any #include; write macro values out (AF_INET → 2) and remove the #include")
        })
    }

    /// `linux/sched.h` from `#include <linux/sched.h>` or `#include "linux/sched.h"`.
    static func headerName(_ item: PreambleItem) -> String? {
        let source = item.name ?? item.text
        let trimmed = source.replacingOccurrences(of: "#include", with: "").trimmingCharacters(in: .whitespaces)
        let inner = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "<>\" "))
        return inner.isEmpty ? nil : inner
    }

    /// `source` with the lines of `includes` emptied, so every other line keeps its number
    /// (diagnostics from bpftrace still point at the user's lines).
    public static func removing(_ includes: [PreambleItem], from source: String) -> String {
        let lines = Set(includes.map(\.range.start.line))
        return source.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { lines.contains($0.offset + 1) ? "" : String($0.element) }
            .joined(separator: "\n")
    }

    /// Whether `header` exists under any of `roots`.
    public static func installed(_ header: String, roots: [String]) -> Bool {
        roots.contains { FileManager.default.fileExists(atPath: $0 + "/" + header) }
    }
}
