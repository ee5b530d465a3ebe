import Foundation

/// Reads example files. The shipped corpus is one runnable `.bt` file per example whose leading
/// `//` lines carry the metadata (see corpus/README.md), so each example can be checked by
/// running it as is.
public enum CorpusLoader {
    /// Every `*.bt` file in `directory`, sorted by id.
    public static func loadDirectory(_ directory: URL) throws(ExampleStoreError) -> [Example] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .unreadable(path: directory.path, reason: error.localizedDescription)
        }
        var examples: [Example] = []
        var seen = Set<String>()
        for name in names.sorted() where name.hasSuffix(".bt") {
            let url = directory.appendingPathComponent(name)
            let text = try read(url)
            let example = try parse(text, path: url.path)
            guard seen.insert(example.id).inserted else { throw .duplicateID(example.id) }
            examples.append(example)
        }
        return examples
    }

    /// Parses one corpus file.
    public static func parse(_ text: String, path: String) throws(ExampleStoreError) -> Example {
        var id: String?
        var prompts: [String] = []
        var tags: [String] = []
        var probes: [String] = []
        var unsafe = false
        var task: String?
        var bodyLines: [Substring] = []
        var inHeader = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if inHeader, line.hasPrefix("// "), let colon = line.firstIndex(of: ":") {
                let key = line.dropFirst(3)[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch key {
                case "ken-example": id = value; continue
                case "prompt": prompts.append(value); continue
                case "tags": tags = list(value); continue
                case "probes": probes = list(value); continue
                case "task":
                    do { _ = try TaskMetadata.parse(value) } catch {
                        throw .malformedExample(path: path, reason: "task: \(error)")
                    }
                    task = value
                    continue
                case "needs-unsafe":
                    guard value == "yes" || value == "no" else {
                        throw .malformedExample(path: path, reason: "needs-unsafe must be yes or no")
                    }
                    unsafe = value == "yes"
                    continue
                default: break
                }
            }
            if inHeader && line.trimmingCharacters(in: .whitespaces).isEmpty && id != nil { continue }
            inHeader = false
            bodyLines.append(line)
        }
        guard let id, !id.isEmpty else {
            throw .malformedExample(path: path, reason: "no '// ken-example: <id>' line")
        }
        guard !prompts.isEmpty else { throw .malformedExample(path: path, reason: "no '// prompt:' line") }
        let program = bodyLines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !program.isEmpty else { throw .malformedExample(path: path, reason: "no program") }
        if probes.isEmpty { probes = ProbeScanner.probes(in: program) }
        return Example(id: id, prompts: prompts, program: program + "\n", tags: tags, probes: probes,
                       needsUnsafe: unsafe, origin: .corpus, task: task)
    }

    /// The bpftrace tools installed on this machine. Their header comment's first paragraph
    /// (after the tool name) is the prompt. Unreadable or comment-less files are skipped: they
    /// are a bonus, not a requirement.
    public static func installedTools(in directories: [URL] = defaultToolDirectories) -> [Example] {
        var examples: [Example] = []
        var seen = Set<String>()
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            for name in names.sorted() where name.hasSuffix(".bt") {
                let tool = String(name.dropLast(3))
                guard !seen.contains(tool),
                      let text = try? read(directory.appendingPathComponent(name)),
                      let description = toolDescription(text, tool: tool) else { continue }
                seen.insert(tool)
                examples.append(Example(id: "tool-\(tool)", prompts: [description], program: text,
                                        tags: ["installed-tool", tool], probes: ProbeScanner.probes(in: text),
                                        needsUnsafe: text.contains("system(") || text.contains("signal("),
                                        origin: .installedTool))
            }
        }
        return examples
    }

    public static let defaultToolDirectories = [
        URL(fileURLWithPath: "/usr/sbin"), URL(fileURLWithPath: "/usr/share/bpftrace/tools"),
    ]

    /// The first paragraph of the leading block comment, without the tool's name and without the
    /// boilerplate "For Linux, uses bpftrace" line.
    static func toolDescription(_ text: String, tool: String) -> String? {
        guard let start = text.range(of: "/*"), let end = text.range(of: "*/", range: start.upperBound..<text.endIndex)
        else { return nil }
        var paragraph: [String] = []
        for raw in text[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("*") { line = String(line.dropFirst()).trimmingCharacters(in: .whitespaces) }
            if line.isEmpty {
                if paragraph.isEmpty { continue } else { break }
            }
            if line.lowercased().hasPrefix("for linux") { continue }
            if paragraph.isEmpty {
                for prefix in [tool + ".bt", tool] where line.hasPrefix(prefix) {
                    line = String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
                    break
                }
            }
            if !line.isEmpty { paragraph.append(line) }
        }
        let description = paragraph.joined(separator: " ")
        return description.isEmpty ? nil : description
    }

    static func list(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func read(_ url: URL) throws(ExampleStoreError) -> String {
        do {
            let data = try Data(contentsOf: url)
            guard let text = String(data: data, encoding: .utf8) else {
                throw ExampleStoreError.unreadable(path: url.path, reason: "not UTF-8")
            }
            return text
        } catch let error as ExampleStoreError {
            throw error
        } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
    }
}
