import Foundation
import XCTest

/// Ken's man pages render cleanly and document what the programs really accept.
final class ManPageTests: XCTestCase {
    static let pages = ["kenc.1", "ken-agent.8", "kend.8", "ken.toml.5"]

    func page(_ name: String) -> URL { Shell.repository.appendingPathComponent("man/\(name)") }

    /// groff with every warning enabled (-ww) prints nothing on stderr for any page, and the
    /// rendered page has its title and the standard sections.
    func testEveryPageRendersWithoutGroffWarnings() throws {
        let groff = try Shell.require("groff", package: "groff")
        for name in Self.pages {
            let result = try Shell.run(groff, ["-ww", "-man", "-Tutf8", page(name).path])
            XCTAssertEqual(result.status, 0, name)
            XCTAssertEqual(result.stderr, "", "\(name): groff warnings")
            let title = name.split(separator: ".").dropLast().joined(separator: ".").uppercased()
            XCTAssertTrue(result.stdout.contains(title), "\(name) renders its title \(title)")
            for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "SEE ALSO"] {
                XCTAssertTrue(plain(result.stdout).contains("\n" + section), "\(name) has a \(section) section")
            }
        }
    }

    /// `man -l` (man-db, as users read installed pages) formats every page without complaint.
    func testManDashLFormatsEveryPage() throws {
        let man = try Shell.require("man", package: "man-db")
        for name in Self.pages {
            let result = try Shell.run(man, ["-l", "-P", "cat", page(name).path],
                                       environment: ["MANWIDTH": "80", "LC_ALL": "C.UTF-8"])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertEqual(result.stderr, "", name)
            XCTAssertTrue(plain(result.stdout).contains("NAME"), name)
        }
    }

    /// Every subcommand and every long option that `--help` of the built programs lists appears
    /// in the man page, so the pages cannot silently fall behind the code.
    func testPagesDocumentEveryOptionTheProgramsAccept() throws {
        guard let bin = Shell.builtProgramsDirectory() else {
            throw XCTSkip("ken-agent, kend and kenc are not built (run swift build, or set KEN_BIN_DIR)")
        }
        let kenc = bin.appendingPathComponent("kenc").path
        let top = try Shell.run(kenc, ["--help"])
        XCTAssertEqual(top.status, 0, top.stderr)
        let subcommands = Self.subcommands(inHelp: top.stdout)
        XCTAssertTrue(subcommands.contains("synth"), "kenc --help lists subcommands: \(top.stdout)")
        let kencPage = try String(contentsOf: page("kenc.1"), encoding: .utf8)
        for subcommand in subcommands {
            XCTAssertTrue(kencPage.contains(".SS \"kenc \(Self.roff(subcommand))"), "kenc.1 has a section for \(subcommand)")
            let help = try Shell.run(kenc, [subcommand, "--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            for option in Self.longOptions(inHelp: help.stdout) {
                XCTAssertTrue(kencPage.contains(Self.roff(option)), "kenc.1 documents \(subcommand) \(option)")
            }
            // Nested subcommands (kenc examples list|search|add|remove) and their options.
            for nested in Self.subcommands(inHelp: help.stdout) {
                XCTAssertTrue(kencPage.split(separator: "\n").contains {
                    $0.contains("kenc \(Self.roff(subcommand))") && $0.contains(Self.roff(nested))
                }, "kenc.1 documents \(subcommand) \(nested)")
                let nestedHelp = try Shell.run(kenc, [subcommand, nested, "--help"])
                XCTAssertEqual(nestedHelp.status, 0, nestedHelp.stderr)
                for option in Self.longOptions(inHelp: nestedHelp.stdout) {
                    XCTAssertTrue(kencPage.contains(Self.roff(option)), "kenc.1 documents \(subcommand) \(nested) \(option)")
                }
            }
        }
        for (program, pageName) in [("ken-agent", "ken-agent.8"), ("kend", "kend.8")] {
            let help = try Shell.run(bin.appendingPathComponent(program).path, ["--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            let text = try String(contentsOf: page(pageName), encoding: .utf8)
            let options = Self.longOptions(inHelp: help.stdout)
            XCTAssertFalse(options.isEmpty, "\(program) --help lists options")
            for option in options {
                XCTAssertTrue(text.contains(Self.roff(option)), "\(pageName) documents \(option)")
            }
        }
    }

    /// The policy keys the agent parses are all in ken.toml(5).
    func testKenTomlDocumentsEveryPolicyKey() throws {
        // Wherever the policy parser lives (Sources/AgentCore/Policy.swift today).
        let sources = Shell.repository.appendingPathComponent("Sources")
        let files = (FileManager.default.enumerator(atPath: sources.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".swift") }
        let policy = try XCTUnwrap(files.lazy.compactMap { file -> String? in
            guard let text = try? String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8),
                  text.contains("struct AgentPolicy"), text.contains("\"detach_on_stop\"") else { return nil }
            return text
        }.first, "the source of AgentPolicy's parser")
        let text = try String(contentsOf: page("ken.toml.5"), encoding: .utf8)
        // Section names are `case "…"` labels; each section's keys are the list it gives
        // TOMLTable.only([…]) (which may span lines).
        var keys = Set<String>()
        for line in policy.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("case \""), let end = trimmed.dropFirst(6).firstIndex(of: "\"") else { continue }
            keys.insert(String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 6)..<end]))
        }
        for list in policy.components(separatedBy: ".only([").dropFirst() {
            let items = list.prefix { $0 != "]" }
            for (index, part) in items.split(separator: "\"", omittingEmptySubsequences: false).enumerated() where index % 2 == 1 {
                keys.insert(String(part))
            }
        }
        XCTAssertTrue(keys.isSuperset(of: ["attach", "max_restarts", "detach_on_stop"]), "parsed keys: \(keys)")
        for key in keys.sorted() {
            XCTAssertTrue(text.contains(Self.roff(key)), "ken.toml.5 documents \(key)")
        }
    }

    /// Drops groff's overstrike bold/underline so text can be searched.
    func plain(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\u{8}" {
                if !out.isEmpty { out.removeLast() }
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// The names under SUBCOMMANDS: in an ArgumentParser help text.
    static func subcommands(inHelp help: String) -> [String] {
        var names: [String] = []
        var inSection = false
        for line in help.components(separatedBy: "\n") {
            if line.hasPrefix("SUBCOMMANDS:") { inSection = true; continue }
            guard inSection else { continue }
            if !line.isEmpty, !line.hasPrefix(" ") { break }
            if line.hasPrefix("  "), !line.hasPrefix("   "),
               let name = line.split(separator: " ").first, !name.isEmpty {
                names.append(String(name))
            }
        }
        return names.filter { $0 != "See" && $0 != "help" }
    }

    /// Every `--long-option` named in the OPTIONS: section of a help text.
    static func longOptions(inHelp help: String) -> Set<String> {
        var options = Set<String>()
        var inSection = false
        for line in help.components(separatedBy: "\n") {
            if line.hasPrefix("OPTIONS:") { inSection = true; continue }
            guard inSection else { continue }
            if !line.isEmpty, !line.hasPrefix(" ") { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // An option line starts with its names; descriptions are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("    "), trimmed.hasPrefix("-") else { continue }
            for word in trimmed.split(separator: " ") where word.hasPrefix("--") {
                let option = word.trimmingCharacters(in: CharacterSet(charactersIn: ","))
                options.insert(option)
            }
        }
        return options
    }

    /// How a literal is written in roff source: hyphens escaped.
    static func roff(_ literal: String) -> String {
        literal.replacingOccurrences(of: "-", with: "\\-")
    }
}
