import ExampleStore
import Foundation

/// The offline library's labelled evaluation set (`eval/library-prompts.jsonl`) and how an
/// answer is judged against a label.
struct LibraryEvaluationSet {
    struct Label {
        /// The example that does the task, nil when none does (the right answer is a decline).
        var example: String?
        /// Parameter values by filter kind (`process`, `path`, `path-prefix`, `signal`, …) and `interval`.
        var params: [String: String]
    }

    struct Entry {
        var id: String
        var prompt: String
        var label: Label
    }

    enum Outcome: String { case right, wrong, declined, wronglyDeclined = "declined (an example does it)" }

    var entries: [Entry]

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func load(_ file: String = "eval/library-prompts.jsonl") throws -> LibraryEvaluationSet {
        let root = repositoryRoot
        var prompts: [String: String] = [:]
        for object in try lines(root.appendingPathComponent("eval/prompts.jsonl")) {
            if let id = object["id"] as? String, let prompt = object["prompt"] as? String { prompts[id] = prompt }
        }
        var entries: [Entry] = []
        for object in try lines(root.appendingPathComponent(file)) {
            guard let id = object["id"] as? String, object.keys.contains("answer") else {
                throw NSError(domain: "library-prompts", code: 1, userInfo: [NSLocalizedDescriptionKey: "entry without id or answer: \(object)"])
            }
            guard let prompt = object["prompt"] as? String ?? prompts[id] else {
                throw NSError(domain: "library-prompts", code: 2, userInfo: [NSLocalizedDescriptionKey: "\(id): no prompt here or in prompts.jsonl"])
            }
            var label = Label(example: nil, params: [:])
            if let answer = object["answer"] as? [String: Any] {
                label.example = answer["example"] as? String
                label.params = answer["params"] as? [String: String] ?? [:]
            }
            entries.append(Entry(id: id, prompt: prompt, label: label))
        }
        return LibraryEvaluationSet(entries: entries)
    }

    static func lines(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw NSError(domain: "jsonl", code: 3, userInfo: [NSLocalizedDescriptionKey: "not an object: \(line)"])
                }
                return object
            }
    }

    /// FNV-1a 64-bit of the id's UTF-8 bytes: the split rule stated in docs/evaluation.md.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// Ids sorted by hash: the first 40 are held apart, the rest are dev.
    var split: (heldApart: [Entry], dev: [Entry]) {
        let sorted = entries.sorted { Self.fnv1a($0.id) != Self.fnv1a($1.id) ? Self.fnv1a($0.id) < Self.fnv1a($1.id) : $0.id < $1.id }
        return (Array(sorted.prefix(40)), Array(sorted.dropFirst(40)))
    }

    /// Judges the library's first answer against the label.
    static func judge(_ decision: LibraryDecision, _ label: Label) -> Outcome {
        guard let answer = decision.candidates.first else {
            return label.example == nil ? .declined : .wronglyDeclined
        }
        guard answer.example.id == label.example else { return .wrong }
        var filled: [String: String] = [:]
        for substitution in answer.substitutions { filled[substitution.kind.rawValue] = substitution.to }
        if let interval = answer.interval { filled["interval"] = String(interval) }
        // Every filled parameter must be one the label asks for, with its value; a label value
        // that the example already has needs no substitution.
        for (kind, value) in filled where label.params[kind] != value { return .wrong }
        let model = answer.example.taskModel
        for (kind, value) in label.params where filled[kind] == nil {
            let own = kind == "interval" ? model?.intervalSeconds.map(String.init)
                : model?.filters.first { $0.kind.rawValue == kind }?.value
            if own != value { return .wrong }
        }
        return .right
    }
}
