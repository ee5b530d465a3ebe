/// C's built-in integer spellings and the kernel's fixed-width names, for reading format
/// files and casts when BTF does not name the type (e.g. `unsigned long` is spelled
/// `long unsigned int` in BTF). Widths are those of the x86-64/aarch64 LP64 ABI that Ken
/// targets.
enum CBaseTypes {
    static func integer(named raw: String) -> CInteger? {
        let name = raw.split(separator: " ").filter { $0 != "const" && $0 != "volatile" }.joined(separator: " ")
        if let (bits, signed) = table[name] {
            return CInteger(name: name, bits: bits, signed: signed, isBool: name == "bool" || name == "_Bool")
        }
        return nil
    }

    private static let table: [String: (Int, Bool)] = {
        var t: [String: (Int, Bool)] = [
            "char": (8, true), "signed char": (8, true), "unsigned char": (8, false),
            "short": (16, true), "short int": (16, true), "signed short": (16, true),
            "unsigned short": (16, false), "short unsigned int": (16, false), "unsigned short int": (16, false),
            "int": (32, true), "signed int": (32, true), "signed": (32, true),
            "unsigned": (32, false), "unsigned int": (32, false),
            "long": (64, true), "long int": (64, true), "signed long": (64, true),
            "unsigned long": (64, false), "long unsigned int": (64, false), "unsigned long int": (64, false),
            "long long": (64, true), "long long int": (64, true),
            "unsigned long long": (64, false), "long long unsigned int": (64, false),
            "bool": (8, false), "_Bool": (8, false),
        ]
        for bits in [8, 16, 32, 64] {
            for prefix in ["u", "__u"] { t["\(prefix)\(bits)"] = (bits, false) }
            for prefix in ["s", "__s"] { t["\(prefix)\(bits)"] = (bits, true) }
            t["uint\(bits)_t"] = (bits, false)
            t["int\(bits)_t"] = (bits, true)
        }
        return t
    }()
}
