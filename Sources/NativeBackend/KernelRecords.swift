import KernelInfo

/// CO-RE declarations of the kernel structs the program reads: only the members it uses, with
/// `preserve_access_index`, so clang records a relocation for each access and libbpf fixes
/// the offsets against the running kernel's BTF at load (no kernel headers).
final class KernelRecords {
    private struct Record {
        var isUnion: Bool
        var members: [(name: String, declaration: String)] = []
        /// Records embedded by value, which must be defined first.
        var embeds: [String] = []
    }

    private var records: [String: Record] = [:]
    private var order: [String] = []

    /// The C spelling of a record (`struct sock`), declaring it if new.
    /// Anonymous records (`in6_u`'s union) get a name of their own: CO-RE matches nested
    /// records by their members, only the outermost record by name.
    func use(_ ref: CRecordRef) throws(NativeCompileError) -> String {
        var name = ref.name
        if name.isEmpty {
            guard let id = ref.btfID else { throw .unsupported(.init("an anonymous struct member")) }
            name = "ken_anon_\(id)"
        }
        let spelling = (ref.isUnion ? "union " : "struct ") + name
        if records[spelling] == nil {
            records[spelling] = Record(isUnion: ref.isUnion)
            order.append(spelling)
        }
        return spelling
    }

    /// Adds `member` to `ref`'s declaration.
    func use(_ member: CMember, of ref: CRecordRef) throws(NativeCompileError) {
        let spelling = try use(ref)
        guard records[spelling]?.members.contains(where: { $0.name == member.name }) == false else { return }
        if member.bitfieldSize != 0 { throw .unsupported(.init("bitfield member \(member.name)")) }
        let declaration = try self.declaration(member.type, name: member.name, embedder: spelling)
        records[spelling]?.members.append((member.name, declaration))
    }

    private func declaration(_ type: CType, name: String, embedder: String) throws(NativeCompileError) -> String {
        switch type.resolved {
        case let .integer(i):
            return "\(ValueKind.cInteger(bits: max(8, i.bits), signed: i.signed)) \(name);"
        case let .enumeration(_, bits, signed):
            return "\(ValueKind.cInteger(bits: max(8, bits), signed: signed)) \(name);"
        case .pointer:
            return "void *\(name);"
        case let .array(element, count):
            let inner = try declaration(element, name: "\(name)[\(count)]", embedder: embedder)
            return inner
        case let .record(ref):
            let spelling = try use(ref)
            records[embedder]?.embeds.append(spelling)
            return "\(spelling) \(name);"
        default:
            throw .unsupported(.init("member \(name) of type \(type)"))
        }
    }

    var isEmpty: Bool { records.isEmpty }

    func declare(into w: inout CWriter) {
        guard !order.isEmpty else { return }
        for spelling in order { w.line("\(spelling);") }
        var done: Set<String> = []
        func define(_ spelling: String, _ w: inout CWriter) {
            guard !done.contains(spelling), let record = records[spelling] else { return }
            done.insert(spelling)
            for inner in record.embeds { define(inner, &w) }
            w.block(spelling, trailer: " __attribute__((preserve_access_index));") { w in
                if record.members.isEmpty { w.line("char __unused;") }
                for m in record.members { w.line(m.declaration) }
            }
        }
        for spelling in order { define(spelling, &w) }
        w.line()
    }
}
