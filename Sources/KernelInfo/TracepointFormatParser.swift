/// Parses tracefs `format` files into `TracepointFormat`.
///
/// A field line looks like
/// `field:const char * filename;	offset:24;	size:8;	signed:0;`
/// The declaration keeps C spelling (`char prev_comm[16]`, `__data_loc char[] name`); the
/// offset/size/signed triple is the kernel's ground truth for layout.
public enum TracepointFormatParser {
    /// Parses `text` (the whole format file). `btf`, when given, explains typedef names such
    /// as `pid_t` or `umode_t`; without it they become integers of the stated size.
    public static func parse(_ text: String, category: String, name: String, path: String = "",
                             btf: KernelBTF? = nil) throws(KernelInfoError) -> TracepointFormat {
        var id: Int?
        var fields: [TracepointField] = []
        var common: [TracepointField] = []
        var sawFormat = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingWhitespace()
            if line.hasPrefix("ID:") {
                id = Int(line.dropFirst(3).trimmingWhitespace())
            } else if line.hasPrefix("format:") {
                sawFormat = true
            } else if line.hasPrefix("field:") {
                let field = try parseField(line, category: category, event: name, path: path, btf: btf)
                if field.isCommon { common.append(field) } else { fields.append(field) }
            } else if line.hasPrefix("print fmt:") {
                break
            }
        }
        guard sawFormat else {
            throw .malformedFormat(path: path, detail: "no 'format:' section")
        }
        return TracepointFormat(category: category, name: name, id: id, fields: fields, commonFields: common)
    }

    /// Syscall entry tracepoints carry the syscall's arguments verbatim; every pointer
    /// argument of a syscall is a `__user` pointer (format files drop the annotation, e.g.
    /// `const char * filename` of sys_enter_openat). Other tracepoints record kernel data.
    public static func isUserPointer(category: String, event: String, type: CType) -> Bool {
        category == "syscalls" && event.hasPrefix("sys_enter_") && type.isPointer
    }

    static func parseField(_ line: String, category: String, event: String, path: String,
                           btf: KernelBTF?) throws(KernelInfoError) -> TracepointField {
        var declaration = ""
        var offset: Int?
        var size: Int?
        var signed = false
        for part in line.split(separator: ";") {
            let p = part.trimmingWhitespace()
            if p.hasPrefix("field:") {
                declaration = String(p.dropFirst(6)).trimmingWhitespace()
            } else if p.hasPrefix("offset:") {
                offset = Int(p.dropFirst(7))
            } else if p.hasPrefix("size:") {
                size = Int(p.dropFirst(5))
            } else if p.hasPrefix("signed:") {
                signed = p.dropFirst(7) == "1"
            }
        }
        guard let offset, let size, !declaration.isEmpty else {
            throw .malformedFormat(path: path, detail: "bad field line: \(line)")
        }
        // Trailing `[N]` after the name: a fixed array.
        var decl = Substring(declaration)
        var arrayCount: Int?
        var isArray = false
        if decl.hasSuffix("]"), let open = decl.lastIndex(of: "[") {
            let countText = decl[decl.index(after: open)..<decl.index(before: decl.endIndex)]
            arrayCount = Int(countText.trimmingWhitespace())
            isArray = true
            decl = decl[..<open]
        }
        decl = Substring(decl.trimmingWhitespace())
        let nameStart = decl.lastIndex { !($0.isLetter || $0.isNumber || $0 == "_") }
            .map { decl.index(after: $0) } ?? decl.startIndex
        let name = String(decl[nameStart...])
        var typeText = String(decl[..<nameStart]).trimmingWhitespace()
        guard !name.isEmpty, !typeText.isEmpty else {
            throw .malformedFormat(path: path, detail: "cannot split type and name in '\(declaration)'")
        }
        var isDynamic = false
        var type: CType
        if typeText.hasPrefix("__data_loc") {
            isDynamic = true
            var elementText = typeText.dropFirst("__data_loc".count).trimmingWhitespace()
            if elementText.hasSuffix("[]") { elementText = String(elementText.dropLast(2)).trimmingWhitespace() }
            let element = cType(elementText, size: nil, signed: signed, btf: btf)
            type = .array(element, count: 0)
        } else if isArray {
            let element = cType(typeText, size: nil, signed: signed, btf: btf)
            var count = arrayCount ?? 0
            if arrayCount == nil, let elementSize = element.byteSize, elementSize > 0 {
                count = size / elementSize
            }
            type = .array(element, count: count)
            typeText += "[\(arrayCount.map(String.init) ?? "")]"
        } else {
            type = cType(typeText, size: size, signed: signed, btf: btf)
        }
        return TracepointField(
            name: name, typeText: typeText, type: type, offset: offset, size: size, isSigned: signed,
            arrayCount: isArray ? Self.count(of: type) : nil,
            isDynamicArray: isDynamic,
            isUserPointer: isUserPointer(category: category, event: event, type: type),
            isCommon: name.hasPrefix("common_"))
    }

    /// The type of C text `text` (no name). `size`, for scalar fields, is the slot width: the
    /// syscall tracepoints store every argument in an 8-byte slot while the text keeps the
    /// prototype's type (`int dfd; size:8`); see `slotWidened` for which types follow the slot.
    static func cType(_ text: String, size: Int?, signed: Bool, btf: KernelBTF?) -> CType {
        var pointerDepth = 0
        var words: [Substring] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var w = word
            while w.hasSuffix("*") { pointerDepth += 1; w = w.dropLast() }
            while w.hasPrefix("*") { pointerDepth += 1; w = w.dropFirst() }
            if w.isEmpty || qualifiers.contains(String(w)) { continue }
            words.append(w)
        }
        let base = words.joined(separator: " ")
        var type: CType
        if base == "void" {
            type = .void
        } else if let known = btf?.type(named: base) {
            type = known
        } else if let integer = CBaseTypes.integer(named: base) {
            type = .integer(integer)
        } else if base.hasPrefix("struct ") || base.hasPrefix("union ") {
            let isUnion = base.hasPrefix("union ")
            type = .record(CRecordRef(isUnion: isUnion, name: String(base.dropFirst(isUnion ? 6 : 7))))
        } else if pointerDepth == 0, let size, [1, 2, 4, 8].contains(size) {
            // A typedef BTF does not know: trust the format file's size and sign.
            type = .typedef(name: base, .integer(CInteger(name: base, bits: size * 8, signed: signed)))
        } else {
            type = .unknown(base)
        }
        if pointerDepth == 0, size == 8, let unsigned = slotWidened[base] {
            type = widened(type, unsigned: unsigned)
        }
        for _ in 0..<pointerDepth { type = .pointer(type) }
        return type
    }

    /// Declared types bpftrace 0.17 widens to 64 bits when they sit in an 8-byte slot, and
    /// whether the result is unsigned (read off `bpftrace -d` on this machine: `int dfd` is
    /// int64, `unsigned int fd`, `pid_t pid` and `uid_t uid` are uint64, `umode_t mode` stays
    /// uint16). Ken types these fields the same way so checks agree with bpftrace.
    static let slotWidened: [String: Bool] = [
        "int": false, "unsigned int": true, "unsigned": true, "u32": true,
        "pid_t": true, "uid_t": true, "gid_t": true,
    ]

    private static func widened(_ type: CType, unsigned: Bool) -> CType {
        switch type {
        case let .integer(i):
            return .integer(CInteger(name: i.name, bits: 64, signed: !unsigned && i.signed, isBool: i.isBool))
        case let .typedef(name, inner):
            return .typedef(name: name, widened(inner, unsigned: unsigned))
        default:
            return type
        }
    }

    private static func count(of type: CType) -> Int? {
        if case let .array(_, count) = type { return count }
        return nil
    }

    static let qualifiers: Set<String> = ["const", "volatile", "__user", "__percpu", "__rcu", "__iomem", "restrict", "__restrict"]
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let head = drop(while: isSpace)
        var end = head.endIndex
        while end > head.startIndex, isSpace(head[head.index(before: end)]) { end = head.index(before: end) }
        return String(head[head.startIndex..<end])
    }
}
