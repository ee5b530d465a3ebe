import Foundation

/// One held-apart prompt of an evaluation dataset (one JSON object per line of a `.jsonl` file).
///
/// The reference program and the behaviour check make the judgement mechanical: a program is
/// judged correct when, attached, it prints what `expect` describes after `trigger` runs. That is
/// the estimate of semantic correctness the paper obtained by manual inspection.
public struct EvalEntry: Sendable, Equatable, Codable {
    public var id: String
    public var prompt: String
    /// A bpftrace program (0.17 dialect) that does what the prompt asks; "" when none is given.
    public var referenceProgram: String
    /// A shell command (run with /bin/sh -c) that makes the probes fire.
    public var trigger: String
    /// A regular expression the extension's output must match after the trigger.
    public var expect: String
    public var tags: [String]
    /// The trigger may not make the probe fire on every machine (block I/O in a VM): a failed
    /// check is "unchecked", not a false positive.
    public var triggerOptional: Bool

    public init(id: String, prompt: String, referenceProgram: String = "", trigger: String = "",
                expect: String = "", tags: [String] = [], triggerOptional: Bool = false) {
        self.id = id
        self.prompt = prompt
        self.referenceProgram = referenceProgram
        self.trigger = trigger
        self.expect = expect
        self.tags = tags
        self.triggerOptional = triggerOptional
    }

    /// Whether the entry carries a behaviour check at all.
    public var hasBehaviourCheck: Bool { !trigger.isEmpty && !expect.isEmpty }

    enum CodingKeys: String, CodingKey {
        case id, prompt, trigger, expect, tags
        case referenceProgram = "reference_program"
        case triggerOptional = "trigger_optional"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        prompt = try container.decode(String.self, forKey: .prompt)
        referenceProgram = try container.decodeIfPresent(String.self, forKey: .referenceProgram) ?? ""
        trigger = try container.decodeIfPresent(String.self, forKey: .trigger) ?? ""
        expect = try container.decodeIfPresent(String.self, forKey: .expect) ?? ""
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        triggerOptional = try container.decodeIfPresent(Bool.self, forKey: .triggerOptional) ?? false
    }
}

/// Why a dataset could not be read.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)
    case duplicateID(path: String, id: String)
    case badExpect(id: String, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read the dataset \(path): \(reason)"
        case let .badLine(path, line, reason): "\(path):\(line): not a dataset entry: \(reason)"
        case let .duplicateID(path, id): "\(path): the id \(id) is used twice"
        case let .badExpect(id, reason): "entry \(id): expect is not a valid regular expression: \(reason)"
        case let .empty(path): "\(path) holds no entries"
        }
    }
}

public enum EvalDataset {
    /// Reads a JSON-lines dataset; blank lines and lines starting with `#` are skipped.
    public static func load(path: String) throws(DatasetError) -> [EvalEntry] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String = "<dataset>") throws(DatasetError) -> [EvalEntry] {
        var entries: [EvalEntry] = []
        var seen: Set<String> = []
        let decoder = JSONDecoder()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let entry: EvalEntry
            do {
                entry = try decoder.decode(EvalEntry.self, from: Data(line.utf8))
            } catch {
                throw .badLine(path: path, line: index + 1, reason: "\(error)")
            }
            guard !entry.id.isEmpty, !entry.prompt.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .badLine(path: path, line: index + 1, reason: "id and prompt must not be empty")
            }
            guard seen.insert(entry.id).inserted else { throw .duplicateID(path: path, id: entry.id) }
            if !entry.expect.isEmpty {
                do { _ = try NSRegularExpression(pattern: entry.expect) } catch {
                    throw .badExpect(id: entry.id, reason: "\(error)")
                }
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw .empty(path: path) }
        return entries
    }
}
