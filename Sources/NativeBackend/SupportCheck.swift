import BpftraceSyntax
import NativeABI

/// What the generator refuses before generating anything: program-level features it does not
/// support. Expression-level ones (`ustack`, `system()`, …) are refused where they are met.
/// Each reason is short: the agent shows it as `backend: bpftrace (REASON)`.
enum SupportCheck {
    static func check(_ program: Program) throws(NativeCompileError) {
        for item in program.preamble {
            switch item.kind {
            case .structDefinition, .unionDefinition, .enumDefinition, .typedef:
                throw .unsupported(NativeUnsupported("C type definitions in the program"))
            case .define:
                if defineValue(item) == nil { throw .unsupported(NativeUnsupported("#define of a non-integer")) }
            case .include, .preprocessor:
                continue
            }
        }
        for declaration in program.mapDeclarations where declaration.mapType.contains("percpu") {
            throw .unsupported(NativeUnsupported("\(declaration.mapType) map declarations"))
        }
        for entry in program.config?.entries ?? [] where entry.key != "max_map_keys" {
            throw .unsupported(NativeUnsupported("config \(entry.key)"))
        }
    }

    /// `#define NAME 123` → (NAME, 123).
    static func defineValue(_ item: PreambleItem) -> (name: String, value: Int64)? {
        let words = item.text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 3, words[0] == "#define" else { return nil }
        let text = String(words[2])
        let value: Int64?
        if text.hasPrefix("0x") || text.hasPrefix("0X") { value = Int64(text.dropFirst(2), radix: 16) }
        else if text.hasPrefix("-") { value = Int64(text) }
        else { value = Int64(text) }
        guard let value else { return nil }
        return (String(words[1]), value)
    }

    static func defines(_ program: Program) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for item in program.preamble where item.kind == .define {
            if let (name, value) = defineValue(item) { out[name] = value }
        }
        return out
    }
}
