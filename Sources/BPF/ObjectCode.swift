import Foundation

/// Every call instruction in a BPF ELF object, read from the ELF file itself before anything is
/// loaded.
///
/// Why not libbpf's `bpf_program__insns`: libbpf lists only entry programs, while helpers can be
/// called from static subprograms in `.text` that libbpf appends at load time; and kfunc calls
/// are still unresolved (`call -1` plus a relocation) before load. Reading every executable
/// section and its relocations sees all the code the kernel could be given.
///
/// Instruction facts (kernel ABI, include/uapi/linux/bpf.h): an instruction is 8 bytes — opcode,
/// registers (dst in the low nibble, src in the high nibble), 16-bit offset, 32-bit immediate.
/// A call is `BPF_JMP | BPF_CALL` (0x85): src_reg 0 calls helper number `imm`; src_reg 1
/// (BPF_PSEUDO_CALL) calls a subprogram, or, relocated against an undefined symbol, a kernel
/// function (kfunc); src_reg 2 (BPF_PSEUDO_KFUNC_CALL) is a kfunc call by BTF id.
public struct BPFObjectCode: Sendable, Equatable {
    /// One call found in the code.
    public struct Call: Sendable, Hashable {
        public enum Target: Sendable, Hashable {
            /// A BPF helper, by its number (`BPF_FUNC_*`).
            case helper(Int32)
            /// A kernel function (kfunc) called through an extern symbol.
            case kfunc(name: String)
            /// A kfunc named only by a BTF id already written into the instruction.
            case kfuncByBTFID(Int32)
            /// A call instruction of a form the kernel does not define (src_reg 3…15).
            case unknown(sourceRegister: UInt8, immediate: Int32)
        }

        public let target: Target
        /// The ELF section holding the instruction (e.g. "tracepoint/syscalls/sys_enter_getpid",
        /// ".text" for subprograms).
        public let section: String
        /// Instruction index within the section.
        public let instruction: Int
    }

    /// Every helper, kfunc or unknown call, in section then instruction order. Subprogram calls
    /// (to code in the object) are not listed: that code is scanned itself.
    public let calls: [Call]
    /// 64-bit loads that name a map by a file descriptor number written into the object
    /// (BPF_PSEUDO_MAP_FD or _MAP_VALUE with no relocation): the kernel would resolve that number
    /// among the *loader's* open files, i.e. reach a map the object does not own. (section,
    /// instruction index) pairs.
    public let rawMapReferences: [(section: String, instruction: Int)]
    /// Names of the executable sections scanned.
    public let sections: [String]

    public static func == (a: BPFObjectCode, b: BPFObjectCode) -> Bool {
        a.calls == b.calls && a.sections == b.sections
            && a.rawMapReferences.elementsEqual(b.rawMapReferences) { $0 == $1 }
    }

    /// Reads the code of `elf`.
    ///
    /// - Throws: `BPFError` (.open) when the bytes are not a 64-bit ELF file in this machine's byte
    ///   order with consistent section headers (libbpf refuses those too).
    public init(elf: [UInt8]) throws {
        let file = try ELFFile(elf)
        var calls: [Call] = []
        var rawMaps: [(section: String, instruction: Int)] = []
        var sections: [String] = []
        for (index, header) in file.sections.enumerated() where header.isExecutable && header.type == ELFFile.progbits {
            let name = file.sectionName(header)
            sections.append(name)
            let code = file.contents(of: header)
            let relocations = file.relocations(forSection: index)
            var offset = 0
            while offset + 8 <= code.count {
                let opcode = code[offset]
                if opcode == 0x85 {
                    let sourceRegister = code[offset + 1] >> 4
                    let immediate = Int32(bitPattern: ELFFile.uint32(code, offset + 4))
                    let target: Call.Target?
                    switch sourceRegister {
                    case 0: target = .helper(immediate)
                    case 1: target = relocations[offset].flatMap { $0 }.map { .kfunc(name: $0) }
                    case 2: target = .kfuncByBTFID(immediate)
                    default: target = .unknown(sourceRegister: sourceRegister, immediate: immediate)
                    }
                    if let target { calls.append(Call(target: target, section: name, instruction: offset / 8)) }
                } else if opcode == 0x18, [1, 2].contains(code[offset + 1] >> 4), relocations[offset] == nil {
                    rawMaps.append((name, offset / 8))
                }
                offset += 8
            }
        }
        self.calls = calls
        self.rawMapReferences = rawMaps
        self.sections = sections
    }
}

/// The functions an executable or shared library defines, for uprobes by name.
public enum ELFFunctions {
    /// Every function `path` defines (its symbol table and dynamic symbols), or nil when the
    /// file cannot be read or is not a 64-bit little-endian ELF file.
    public static func defined(inFile path: String) -> Set<String>? {
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? ELFFile([UInt8](data)) else { return nil }
        return file.definedFunctions()
    }
}

/// The little of ELF64 the code scan needs: section headers, names, symbols, relocations.
struct ELFFile {
    struct Section {
        let nameOffset: Int
        let type: UInt32
        let flags: UInt64
        let offset: Int
        let size: Int
        let link: Int
        let info: Int
        let entrySize: Int
        var isExecutable: Bool { flags & 0x4 != 0 }  // SHF_EXECINSTR
    }

    static let progbits: UInt32 = 1
    static let symtab: UInt32 = 2
    static let rel: UInt32 = 9

    let bytes: [UInt8]
    let sections: [Section]
    let names: Section?

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        func bad(_ why: String) -> BPFError { BPFError(.open, errno: EINVAL, subject: "object: \(why)") }
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw bad("not an ELF file")
        }
        guard bytes[4] == 2 else { throw bad("not a 64-bit ELF file") }
        // BPF objects for little-endian machines (bpfel); libbpf refuses a foreign byte order.
        guard bytes[5] == 1 else { throw bad("not a little-endian (bpfel) ELF file") }
        let sectionTable = Int(clamping: Self.uint64(bytes, 0x28))
        let entrySize = Int(Self.uint16(bytes, 0x3A))
        let count = Int(Self.uint16(bytes, 0x3C))
        let namesIndex = Int(Self.uint16(bytes, 0x3E))
        guard count > 0, entrySize >= 64, sectionTable > 0,
              sectionTable <= bytes.count, count * entrySize <= bytes.count - sectionTable else {
            throw bad("section headers out of range")
        }
        var sections: [Section] = []
        for i in 0..<count {
            let at = sectionTable + i * entrySize
            let section = Section(
                nameOffset: Int(Self.uint32(bytes, at)), type: Self.uint32(bytes, at + 4),
                flags: Self.uint64(bytes, at + 8), offset: Int(clamping: Self.uint64(bytes, at + 24)),
                size: Int(clamping: Self.uint64(bytes, at + 32)), link: Int(Self.uint32(bytes, at + 40)),
                info: Int(Self.uint32(bytes, at + 44)), entrySize: Int(clamping: Self.uint64(bytes, at + 56)))
            // SHT_NOBITS (8) occupies no file bytes; every other section must lie inside the file.
            if section.type != 8, section.offset > bytes.count || section.size > bytes.count - section.offset {
                throw bad("section \(i) lies outside the file")
            }
            sections.append(section)
        }
        self.sections = sections
        names = namesIndex < count ? sections[namesIndex] : nil
    }

    func contents(of section: Section) -> [UInt8] {
        guard section.type != 8 else { return [] }
        return Array(bytes[section.offset..<(section.offset + section.size)])
    }

    func string(in table: Section?, at offset: Int) -> String {
        guard let table, table.type != 8, offset < table.size else { return "" }
        var end = table.offset + offset
        let limit = table.offset + table.size
        while end < limit, bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[(table.offset + offset)..<end], as: UTF8.self)
    }

    func sectionName(_ section: Section) -> String { string(in: names, at: section.nameOffset) }

    /// For the relocation sections that apply to `target`: instruction byte offset → the name of
    /// the undefined (extern) symbol it is relocated against, or nil for a defined symbol.
    func relocations(forSection target: Int) -> [Int: String?] {
        var result: [Int: String?] = [:]
        for relocations in sections where relocations.type == Self.rel && relocations.info == target {
            guard relocations.link < sections.count else { continue }
            let symbols = sections[relocations.link]
            guard symbols.type == Self.symtab, symbols.link < sections.count else { continue }
            let strings = sections[symbols.link]
            var at = relocations.offset
            while at + 16 <= relocations.offset + relocations.size {
                let offset = Int(clamping: Self.uint64(bytes, at))
                let symbolIndex = Int(Self.uint64(bytes, at + 8) >> 32)
                at += 16
                let symbolAt = symbols.offset + symbolIndex * 24
                guard symbolIndex > 0, symbolAt + 24 <= symbols.offset + symbols.size else { continue }
                let sectionIndex = Self.uint16(bytes, symbolAt + 6)
                // SHN_UNDEF: an extern.
                result[offset] = sectionIndex == 0 ? string(in: strings, at: Int(Self.uint32(bytes, symbolAt))) : String?.none
            }
        }
        return result
    }

    /// Names of the functions the file defines, from `.symtab` and `.dynsym` (STT_FUNC and
    /// STT_GNU_IFUNC symbols with a section): what a uprobe can attach to by name.
    func definedFunctions() -> Set<String> {
        var names = Set<String>()
        for table in sections where (table.type == Self.symtab || table.type == 11 /* SHT_DYNSYM */) && table.type != 8 {
            guard table.link < sections.count else { continue }
            let strings = sections[table.link]
            var at = table.offset
            while at + 24 <= table.offset + table.size {
                let kind = bytes[at + 4] & 0xF
                let sectionIndex = Self.uint16(bytes, at + 6)
                if (kind == 2 || kind == 10), sectionIndex != 0 {
                    names.insert(string(in: strings, at: Int(Self.uint32(bytes, at))))
                }
                at += 24
            }
        }
        return names
    }

    static func uint16(_ b: some Collection<UInt8>, _ at: Int) -> UInt16 {
        let i = b.index(b.startIndex, offsetBy: at)
        return UInt16(b[i]) | UInt16(b[b.index(after: i)]) << 8
    }

    static func uint32(_ b: some Collection<UInt8>, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        var i = b.index(b.startIndex, offsetBy: at)
        for shift in stride(from: 0, to: 32, by: 8) { value |= UInt32(b[i]) << shift; i = b.index(after: i) }
        return value
    }

    static func uint64(_ b: some Collection<UInt8>, _ at: Int) -> UInt64 {
        UInt64(uint32(b, at)) | UInt64(uint32(b, at + 4)) << 32
    }
}
