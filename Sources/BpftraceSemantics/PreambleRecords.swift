import BpftraceSyntax
import KernelInfo

/// Members of the structs and unions a program defines in its C preamble.
///
/// Tool scripts declare partial kernel structs (`struct cfs_rq { …; unsigned int nr_running; }`)
/// that shadow BTF's, so `$q->nr_running` must be typed from the program's own text. Only the
/// plain declarations such scripts use are understood — `TYPE [*…] NAME [\[N\]];`, one per
/// `;` — and anything else (function pointers, nested definitions, bitfields) makes the record
/// "opaque": members are then accepted untyped rather than wrongly rejected.
struct PreambleRecords {
    /// `struct name` / `union name` → members, nil when the definition was not understood.
    private(set) var records: [String: [CMember]?] = [:]

    init(_ items: [PreambleItem], btf: KernelBTF?) {
        for item in items where item.kind == .structDefinition || item.kind == .unionDefinition {
            guard let name = item.name else { continue }
            let isUnion = item.kind == .unionDefinition
            let spelling = (isUnion ? "union " : "struct ") + name
            records[spelling] = Self.members(of: item.text, isUnion: isUnion, btf: btf, known: records)
        }
    }

    func contains(_ spelling: String) -> Bool { records[spelling] != nil }

    /// The members of `spelling`; `.some(nil)` when defined but not understood.
    func members(of spelling: String) -> [CMember]?? { records[spelling] }

    static func members(of text: String, isUnion: Bool, btf: KernelBTF?, known: [String: [CMember]?]) -> [CMember]? {
        guard let open = text.firstIndex(of: "{"), let close = text.lastIndex(of: "}"), open < close else { return nil }
        let body = text[text.index(after: open)..<close]
        var out: [CMember] = []
        var offset = 0
        for rawDecl in body.split(separator: ";") {
            let decl = trim(stripComments(String(rawDecl)))
            if decl.isEmpty { continue }
            if decl.contains("(") || decl.contains("{") || decl.contains(":") || decl.contains(",") { return nil }
            guard let member = parse(decl, btf: btf, known: known) else { return nil }
            let (type, name) = member
            guard let size = type.byteSize ?? recordSize(type, btf: btf) else { return nil }
            let align = alignment(of: type, size: size, btf: btf)
            if !isUnion { offset = (offset + align - 1) / align * align }
            let at = isUnion ? 0 : offset
            out.append(CMember(name: name, type: type, offset: at, bitOffset: at * 8, bitfieldSize: 0))
            if !isUnion { offset += size }
        }
        return out
    }

    /// Parses `unsigned int nr_running`, `struct load_weight load`, `char name[16]`, `u64 *p`.
    static func parse(_ decl: String, btf: KernelBTF?, known: [String: [CMember]?]) -> (CType, String)? {
        var text = Substring(decl)
        var count: Int?
        if text.hasSuffix("]"), let bracket = text.lastIndex(of: "[") {
            count = Int(trim(String(text[text.index(after: bracket)..<text.index(before: text.endIndex)])))
            guard count != nil else { return nil }
            text = text[..<bracket]
        }
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        var pointers = 0
        var cleaned: [String] = []
        for var w in words {
            while w.hasPrefix("*") { pointers += 1; w.removeFirst() }
            while w.hasSuffix("*") { pointers += 1; w.removeLast() }
            if !w.isEmpty, w != "const", w != "volatile" { cleaned.append(w) }
        }
        words = cleaned
        guard words.count >= 2, let name = words.last else { return nil }
        let base = words.dropLast().joined(separator: " ")
        var type: CType
        if known[base] != nil, base.hasPrefix("struct ") || base.hasPrefix("union ") {
            let isUnion = base.hasPrefix("union ")
            let size = known[base]??.reduce(0) { max($0, $1.offset + ($1.type.byteSize ?? 0)) }
            type = .record(CRecordRef(isUnion: isUnion, name: String(base.dropFirst(isUnion ? 6 : 7)), size: size))
        } else if let t = btf?.type(named: base) {
            type = t
        } else if let t = CBaseTypeNames.integer(base) {
            type = t
        } else if let (bits, signed) = BpftraceNames.integerType(base) {
            type = .integer(CInteger(name: base, bits: bits, signed: signed))
        } else if pointers > 0 {
            type = .unknown(base)
        } else {
            return nil
        }
        for _ in 0..<pointers { type = .pointer(type) }
        if let count { type = .array(type, count: count) }
        return (type, name)
    }

    static func recordSize(_ type: CType, btf: KernelBTF?) -> Int? {
        if case let .record(ref) = type.resolved {
            return ref.size ?? btf?.record(named: ref.name, union: ref.isUnion)?.size
        }
        return nil
    }

    /// Natural alignment: scalars by their size; records and arrays by their element, capped
    /// at 8 (no kernel struct Ken meets is over-aligned in a way bpftrace tools redeclare).
    static func alignment(of type: CType, size: Int, btf: KernelBTF?) -> Int {
        switch type.resolved {
        case let .array(element, _):
            return alignment(of: element, size: element.byteSize ?? recordSize(element, btf: btf) ?? 1, btf: btf)
        case .record:
            var a = 1
            while a < 8, size % (a * 2) == 0 { a *= 2 }
            return a
        default:
            return max(1, min(8, size))
        }
    }

    static func trim(_ s: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(s.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    static func stripComments(_ s: String) -> String {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let rest = s[i...]
            if rest.hasPrefix("//") {
                guard let nl = rest.firstIndex(of: "\n") else { break }
                i = nl
            } else if rest.hasPrefix("/*") {
                guard let end = rest.range(of: "*/") else { break }
                i = end.upperBound
            } else {
                out.append(s[i])
                i = s.index(after: i)
            }
        }
        return out
    }
}
