import CBPF
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why BTF could not be loaded or read.
public enum BTFError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libbpf could not load the running kernel's BTF (`/sys/kernel/btf/vmlinux` missing, or
    /// the kernel was built without `CONFIG_DEBUG_INFO_BTF`). `errno` is libbpf's error.
    case vmlinuxUnavailable(errno: Int32)
    /// A BTF file could not be parsed.
    case parseFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .vmlinuxUnavailable(errno):
            return "cannot load kernel BTF (errno \(errno)); is CONFIG_DEBUG_INFO_BTF set and /sys/kernel/btf/vmlinux readable?"
        case let .parseFailed(path, errno):
            return "cannot parse BTF file \(path) (errno \(errno))"
        }
    }
}

/// A loaded BTF blob (usually the running kernel's), read through libbpf's BTF API.
///
/// Everything handed out is a Swift value (`BTFType`, names as `String`, ids as integers): the
/// libbpf object never escapes, and it is freed when the last reference goes.
///
/// `@unchecked Sendable` because after loading Ken only calls libbpf's read-only accessors
/// (`btf__type_by_id`, `btf__name_by_offset`, `btf__find_by_name_kind`, `btf__resolve_*`),
/// which do not mutate the object, and the object is never exposed for mutation.
public final class BTF: @unchecked Sendable {
    private let handle: OpaquePointer

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        btf__free(handle)
    }

    /// Loads the running kernel's BTF (libbpf looks at `/sys/kernel/btf/vmlinux` first).
    public static func loadVmlinux() throws(BTFError) -> BTF {
        guard let raw = btf__load_vmlinux_btf() else {
            throw .vmlinuxUnavailable(errno: errno)
        }
        return BTF(handle: raw)
    }

    /// Parses a BTF file: raw BTF (like `/sys/kernel/btf/vmlinux`) or an ELF object with a
    /// `.BTF` section.
    public static func parse(path: String) throws(BTFError) -> BTF {
        guard let raw = btf__parse(path, nil) else {
            throw .parseFailed(path: path, errno: errno)
        }
        return BTF(handle: raw)
    }

    /// Number of type ids, counting `void` (id 0): valid ids are `0..<typeCount`.
    public var typeCount: UInt32 { btf__type_cnt(handle) }

    // MARK: Cheap accessors (no decoding of members/params)

    private func raw(_ id: BTFTypeID) -> UnsafePointer<btf_type>? {
        guard id < typeCount else { return nil }
        return btf__type_by_id(handle, id)
    }

    private func string(_ offset: UInt32) -> String {
        guard let p = btf__name_by_offset(handle, offset) else { return "" }
        return String(cString: p)
    }

    /// The kind of `id` without decoding the entry; nil for an id out of range or an
    /// unknown kind number.
    public func kind(of id: BTFTypeID) -> BTFKind? {
        if id == 0 { return .void }
        guard let t = raw(id) else { return nil }
        return BTFKind(rawValue: btf_kind(t))
    }

    /// The name of `id` (empty for anonymous entries and nameless kinds).
    public func name(of id: BTFTypeID) -> String {
        guard id != 0, let t = raw(id) else { return "" }
        return string(t.pointee.name_off)
    }

    /// Calls `body` with the id, kind and name (empty when anonymous) of every entry (of
    /// `kinds` only, when given: names of other kinds are then never turned into Strings), in
    /// id order. Used to build name indexes in one pass without decoding members.
    public func forEachEntry(of kinds: Set<BTFKind>? = nil, _ body: (BTFTypeID, BTFKind, String) -> Void) {
        let count = typeCount
        var id: BTFTypeID = 1
        while id < count {
            if let t = btf__type_by_id(handle, id), let kind = BTFKind(rawValue: btf_kind(t)),
               kinds?.contains(kind) ?? true {
                var name = ""
                if t.pointee.name_off != 0, let p = btf__name_by_offset(handle, t.pointee.name_off) {
                    name = String(cString: p)
                }
                body(id, kind, name)
            }
            id += 1
        }
    }

    // MARK: Lookups

    /// The first entry named `name` of `kind` (libbpf's linear search), or nil.
    public func find(name: String, kind: BTFKind) -> BTFTypeID? {
        let id = btf__find_by_name_kind(handle, name, UInt32(kind.rawValue))
        return id > 0 ? BTFTypeID(id) : nil
    }

    /// Skips typedefs and const/volatile/restrict/type-tag modifiers, returning the id of the
    /// underlying type (C semantics: what a value of this type really is).
    public func resolve(_ id: BTFTypeID) -> BTFTypeID? {
        var current = id
        // BTF has no cycles through modifiers in valid data; bound the walk anyway so corrupt
        // input cannot loop forever.
        for _ in 0..<64 {
            guard let t = type(current) else { return nil }
            guard let next = t.wrappedType else { return current }
            current = next
        }
        return nil
    }

    /// Size in bytes of a value of type `id` (libbpf `btf__resolve_size`), nil if it has none.
    public func size(of id: BTFTypeID) -> Int? {
        let s = btf__resolve_size(handle, id)
        return s >= 0 ? Int(s) : nil
    }

    // MARK: Decoding

    /// Decodes entry `id`; nil for an id out of range or an unknown kind.
    public func type(_ id: BTFTypeID) -> BTFType? {
        if id == 0 { return .void }
        guard let t = raw(id), let kind = BTFKind(rawValue: btf_kind(t)) else { return nil }
        let name = string(t.pointee.name_off)
        let vlen = Int(btf_vlen(t))
        let sizeOrType = t.pointee.size
        switch kind {
        case .void:
            return .void
        case .int:
            return .int(name: name, size: Int(sizeOrType), bits: Int(btf_int_bits(t)),
                        bitOffset: Int(btf_int_offset(t)),
                        encoding: BTFIntEncoding(rawValue: btf_int_encoding(t)))
        case .pointer:
            return .pointer(to: sizeOrType)
        case .array:
            guard let a = btf_array(t)?.pointee else { return nil }
            return .array(element: a.type, index: a.index_type, count: Int(a.nelems))
        case .structure, .union:
            guard let members = btf_members(t) else {
                return .record(BTFRecord(name: name, size: Int(sizeOrType), members: [], isUnion: kind == .union))
            }
            var out: [BTFMember] = []
            out.reserveCapacity(vlen)
            for i in 0..<vlen {
                let m = members[i]
                out.append(BTFMember(name: string(m.name_off), type: m.type,
                                     bitOffset: btf_member_bit_offset(t, UInt32(i)),
                                     bitfieldSize: btf_member_bitfield_size(t, UInt32(i))))
            }
            return .record(BTFRecord(name: name, size: Int(sizeOrType), members: out,
                                     isUnion: kind == .union))
        case .enumeration:
            guard let values = btf_enum(t) else { return nil }
            let signed = btf_kflag(t)
            var out: [BTFEnumValue] = []
            out.reserveCapacity(vlen)
            for i in 0..<vlen {
                let v = values[i]
                let value = signed ? Int64(v.val) : Int64(UInt32(bitPattern: v.val))
                out.append(BTFEnumValue(name: string(v.name_off), value: value))
            }
            return .enumeration(BTFEnum(name: name, size: Int(sizeOrType), isSigned: signed,
                                        is64: false, values: out))
        case .enum64:
            guard let values = btf_enum64(t) else { return nil }
            var out: [BTFEnumValue] = []
            out.reserveCapacity(vlen)
            for i in 0..<vlen {
                let v = values + i
                out.append(BTFEnumValue(name: string(v.pointee.name_off),
                                        value: Int64(bitPattern: btf_enum64_value(v))))
            }
            return .enumeration(BTFEnum(name: name, size: Int(sizeOrType), isSigned: btf_kflag(t),
                                        is64: true, values: out))
        case .forward:
            return .forward(name: name, isUnion: btf_kflag(t))
        case .typedef:
            return .typedef(name: name, type: sizeOrType)
        case .volatile:
            return .volatile(sizeOrType)
        case .const:
            return .const(sizeOrType)
        case .restrict:
            return .restrict(sizeOrType)
        case .function:
            return .function(name: name, proto: sizeOrType,
                             linkage: BTFLinkage(rawValue: UInt16(vlen)) ?? .unknown)
        case .functionProto:
            guard let params = btf_params(t) else { return nil }
            var out: [BTFParam] = []
            out.reserveCapacity(vlen)
            for i in 0..<vlen {
                out.append(BTFParam(name: string(params[i].name_off), type: params[i].type))
            }
            return .functionProto(returnType: sizeOrType, params: out)
        case .variable:
            let linkage = btf_var(t)?.pointee.linkage ?? 0xFFFF
            return .variable(name: name, type: sizeOrType,
                             linkage: BTFLinkage(rawValue: UInt16(truncatingIfNeeded: linkage)) ?? .unknown)
        case .dataSection:
            guard let infos = btf_var_secinfos(t) else { return nil }
            var out: [BTFVarSecInfo] = []
            for i in 0..<vlen {
                out.append(BTFVarSecInfo(type: infos[i].type, offset: infos[i].offset, size: infos[i].size))
            }
            return .dataSection(name: name, size: Int(sizeOrType), variables: out)
        case .float:
            return .float(name: name, size: Int(sizeOrType))
        case .declTag:
            return .declTag(name: name, type: sizeOrType,
                            componentIndex: Int(btf_decl_tag(t)?.pointee.component_idx ?? -1))
        case .typeTag:
            return .typeTag(name: name, type: sizeOrType)
        }
    }

    /// The C spelling of type `id` as used in declarations, e.g. `struct sock *`,
    /// `const char *`, `__be16`, `u8[16]`. Function pointers are shown as `void *`-like
    /// `ret (*)(params)`. Depth-bounded so corrupt data cannot recurse forever.
    public func cName(of id: BTFTypeID) -> String {
        cName(of: id, depth: 0)
    }

    private func cName(of id: BTFTypeID, depth: Int) -> String {
        guard depth < 32, let t = type(id) else { return "?" }
        switch t {
        case .void: return "void"
        case let .int(name, _, _, _, _), let .float(name, _), let .typedef(name, _):
            return name
        case let .pointer(to):
            if case let .functionProto(ret, params)? = type(to) {
                let p = params.map { $0.type == 0 && $0.name.isEmpty ? "..." : cName(of: $0.type, depth: depth + 1) }
                return "\(cName(of: ret, depth: depth + 1)) (*)(\(p.joined(separator: ", ")))"
            }
            let inner = cName(of: to, depth: depth + 1)
            return inner.hasSuffix("*") ? inner + "*" : inner + " *"
        case let .array(element, _, count):
            return "\(cName(of: element, depth: depth + 1))[\(count)]"
        case let .record(r):
            return (r.isUnion ? "union " : "struct ") + (r.name.isEmpty ? "(anon)" : r.name)
        case let .enumeration(e):
            return "enum " + (e.name.isEmpty ? "(anon)" : e.name)
        case let .forward(name, isUnion):
            return (isUnion ? "union " : "struct ") + name
        case let .const(inner):
            return "const " + cName(of: inner, depth: depth + 1)
        case let .volatile(inner):
            return "volatile " + cName(of: inner, depth: depth + 1)
        case let .restrict(inner), let .typeTag(_, inner):
            return cName(of: inner, depth: depth + 1)
        case let .function(name, _, _):
            return name
        case let .functionProto(ret, params):
            let p = params.map { cName(of: $0.type, depth: depth + 1) }
            return "\(cName(of: ret, depth: depth + 1)) (\(p.joined(separator: ", ")))"
        case let .variable(name, _, _), let .dataSection(name, _, _), let .declTag(name, _, _):
            return name
        }
    }
}
