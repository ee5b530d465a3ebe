import BpftraceSyntax
import KernelInfo

/// Types named in casts, `let`, `sizeof` and `offsetof`.
extension ResolutionPass {
    // MARK: Type names

    /// The type a cast/`let`/`sizeof` names; unknown records are errors with suggestions.
    func typeFromName(_ name: TypeName, range: SourceRange) -> Typed {
        var typed: Typed
        if let scalar = TypeMapping.scalar(name.base) {
            typed = Typed(type: scalar, kernel: nil)
        } else if name.isRecord {
            let isUnion = name.base.hasPrefix("union ")
            let bare = String(name.base.dropFirst(isUnion ? 6 : 7))
            if preambleRecords.contains(name.base) || kernel.btf == nil {
                typed = Typed(type: .record(name: name.base), kernel: nil)
            } else if let ref = kernel.btf?.record(named: bare, union: isUnion) {
                typed = Typed(type: .record(name: ref.spelling),
                              kernel: KernelValueInfo(cType: .record(ref), origin: .cast))
            } else {
                let close = kernel.btf?.suggestRecords(for: bare, union: isUnion) ?? []
                let keyword = isUnion ? "union" : "struct"
                let hint = close.isEmpty ? nil : "did you mean " + close.map { "'\(keyword) \($0)'" }.joined(separator: " or ") + "?"
                error("unknown type '\(name.base)'", at: range, hint: hint)
                return .unknown
            }
        } else if let c = kernel.btf?.type(named: name.base) {
            typed = Typed(type: TypeMapping.semantic(c), kernel: KernelValueInfo(cType: c, origin: .cast))
        } else if let c = CBaseTypeNames.integer(name.base) {
            typed = Typed(type: TypeMapping.semantic(c), kernel: nil)
        } else {
            if kernel.btf != nil { error("unknown type '\(name.base)'", at: range) }
            return .unknown
        }
        if let count = name.arrayCount {
            typed = Typed(type: .array(of: typed.type, count: count),
                          kernel: typed.kernel.map { KernelValueInfo(cType: .array($0.cType, count: count), origin: $0.origin) })
        }
        for _ in 0..<max(0, name.pointerDepth) {
            typed = Typed(type: .pointer(to: typed.type),
                          kernel: typed.kernel.map { KernelValueInfo(cType: .pointer($0.cType), origin: $0.origin) })
        }
        return typed
    }
}
