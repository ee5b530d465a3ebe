import BpftraceSyntax
import Foundation

/// Which preamble text may reach clang. bpftrace hands a script's preamble (the lines before the
/// first probe) to clang running as root, so a directive there opens files as root: `#include
/// "/etc/shadow"` echoes the file in clang's error, `#include "/dev/zero"` grows bpftrace without
/// bound. The agent therefore lets through only:
///
/// - `#include <relative/header.h>` when the policy allows includes (`programs.includes`), and
///   only for a header that exists, world-readable, in a system header directory: nothing a
///   caller could not read themselves;
/// - `#define` lines without `#` in their body;
/// - struct, union and enum definitions without any directive inside them.
///
/// Every other directive (`#pragma`, `#if`, `#line`, `#include_next`, …), `_Pragma`, digraph and
/// trigraph spellings of `#`, and `__has_include` are refused wherever they appear.
struct PreambleCheck {
    var policy: AgentPolicy
    var headerDirectories: [String] = PreambleCheck.systemHeaderDirectories()

    /// Where clang looks for `<header>`s on this machine: the distribution's directories and the
    /// running kernel's headers.
    static func systemHeaderDirectories() -> [String] {
        var uts = utsname()
        uname(&uts)
        let machine = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ["/usr/include", "/usr/local/include", "/usr/include/\(machine)-linux-gnu",
                "/lib/modules/\(release)/build/include", "/lib/modules/\(release)/source/include"]
    }

    /// Spellings that reach the preprocessor's own machinery from anywhere in the text.
    static let forbiddenSpellings = ["_Pragma", "__pragma", "%:", "??=", "__has_include", "__has_embed"]

    func check(_ items: [PreambleItem]) throws(ProgramRefusal) {
        for item in items {
            let line = item.range.start.line
            let at = line > 0 ? " on line \(line)" : ""
            for spelling in Self.forbiddenSpellings where item.text.contains(spelling) {
                throw refusal("the preamble\(at) uses \(spelling), which the agent does not pass to clang",
                              hint: "remove it; only #define, #include <header> and C type definitions may precede the probes")
            }
            switch item.kind {
            case .include:
                try checkInclude(item, at: at)
            case .define:
                let body = item.text.range(of: "define").map { item.text[$0.upperBound...] } ?? ""
                if body.contains("#") {
                    throw refusal("the #define\(at) uses # in its body, which the agent does not pass to clang",
                                  hint: "write the macro without # or ##")
                }
            case .preprocessor:
                throw refusal("the preamble\(at) holds the directive \"\(item.text.prefix(60))\"; the agent passes only #define and #include <header> to clang",
                              hint: "remove the directive")
            case .structDefinition, .unionDefinition, .enumDefinition, .typedef:
                if item.text.contains("#") {
                    throw refusal("the C definition\(at) contains a preprocessor directive, which the agent does not pass to clang",
                                  hint: "write plain C in struct, union and enum definitions; put #define lines before them")
                }
            }
        }
    }

    private func checkInclude(_ item: PreambleItem, at: String) throws(ProgramRefusal) {
        let written = item.name ?? ""
        guard policy.allowsIncludes else {
            throw refusal("the script includes \(written.prefix(80))\(at); the agent's policy does not allow #include",
                          hint: "remove the #include (bpftrace reads kernel types from BTF), or an administrator may allow system headers with programs.includes = true in /etc/ken/agent.toml")
        }
        guard written.hasPrefix("<"), written.hasSuffix(">"), written.count > 2 else {
            throw refusal("the script includes \(written.prefix(80))\(at); only <header> from the system header directories may be included",
                          hint: "write #include <linux/sched.h> style; files by path or in quotes are not read")
        }
        let header = String(written.dropFirst().dropLast())
        let components = header.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-./")
        guard header.count <= 255, header.allSatisfy(allowed.contains), !header.hasPrefix("/"),
              !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw refusal("the header name \(written.prefix(80))\(at) is not a plain relative header path",
                          hint: "name a header under the system include directories, e.g. <linux/sched.h>")
        }
        let readable = headerDirectories.contains { directory in
            var info = stat()
            return stat(directory + "/" + header, &info) == 0
                && info.st_mode & S_IFMT == S_IFREG && info.st_mode & S_IROTH != 0
        }
        guard readable else {
            throw refusal("\(written)\(at) is not a world-readable header in the system header directories",
                          hint: "searched \(headerDirectories.joined(separator: ", "))")
        }
    }

    private func refusal(_ message: String, hint: String) -> ProgramRefusal {
        ProgramRefusal(reason: .preamble, message: message, detail: "", hint: hint)
    }
}
